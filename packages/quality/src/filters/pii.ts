/**
 * `pii`: replace e-mail addresses, IP addresses and (opt-in) phone numbers in the text by
 * placeholders, as datatrove's PIIFormatter and NeMo Curator's PII modifier do. Kept rows are
 * changed, never dropped; `doc.count` reports rows changed and matches per kind (`pii:email`).
 *
 * Every rule is a bounded regular expression (no nested quantifiers: linear per start position)
 * followed by checks in code, tuned for precision on real text (see the README's table):
 * - email: local@domain with a letters-only top-level domain of 2-63 letters; labels without a
 *   leading or trailing `-`; not an image name (`icon@2x.png`).
 * - IPv4: four decimal octets 0-255 without leading zeros, not part of a longer dotted number
 *   (`1.1.2.2.3` outline numbers), not all single digits (versions and sections: `git 1.7.7.3`,
 *   `3.1.4.2`, also the public resolvers 8.8.8.8 and 1.1.1.1, which are no one's personal data),
 *   not after `v`, `version`, `release`, `§`...; only public addresses by default (datatrove's
 *   `only_remove_public_ips`): private, loopback, link-local, CGNAT, documentation, multicast and
 *   reserved ranges are kept.
 * - IPv6: what `net.isIPv6` accepts, with at least three non-empty groups and a digit (Python
 *   slices such as `a[1::2]` are valid IPv6), not touching letters, digits, `:` or `.`; only public by default (not ::, ::1, fe80::/10, fc00::/7, 2001:db8::/32).
 * - phone (off by default): North American numbers written as `(212) 555-0123`, `212-555-0123`,
 *   `212.555.0123`, `+1 212 555 0123` (area and exchange codes 2-9xx, one separator style), and
 *   international numbers starting with `+` and a country code, 8-15 digits in groups.
 */
import { isIPv6 } from 'node:net';
import type { Filter, FilterDoc, FilterResult } from '../filter.js';

export interface PiiParams {
  email: boolean;
  ip: boolean;
  phone: boolean;
  /** Keep private, loopback and other non-public IP addresses (default true, as datatrove). */
  only_public_ips: boolean;
  email_placeholder: string;
  ip_placeholder: string;
  phone_placeholder: string;
}

export const PII_DEFAULTS: PiiParams = {
  email: true,
  ip: true,
  phone: false,
  only_public_ips: true,
  email_placeholder: '<EMAIL_ADDRESS>',
  ip_placeholder: '<IP_ADDRESS>',
  phone_placeholder: '<PHONE_NUMBER>',
};

/** Kinds counted: `pii:email`, `pii:ipv4`, `pii:ipv6`, `pii:phone` (and `pii:rows`, rows changed). */
export type PiiKind = 'email' | 'ipv4' | 'ipv6' | 'phone';

const LOCAL = "A-Za-z0-9!#$%&'*+/=?^_~.-";
const EMAIL_RE = new RegExp(`[${LOCAL}]{1,64}@[A-Za-z0-9-]{1,63}(?:\\.[A-Za-z0-9-]{1,63}){1,8}`, 'g');
const LOCAL_CHAR = new RegExp(`[${LOCAL}]`);
const TLD = /^[A-Za-z]{2,63}$/;
const FILE_EXT = new Set(['png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'bmp', 'ico', 'css', 'js', 'pdf']);

const IPV4_RE = /(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}/g;
const VERSION_WORD =
  /(?:^|[^A-Za-z])(?:v|ver|version|versions|release|rev|revision|build|section|sections|sec|chapter|rule|§)\.?\s*$/i;

const IPV6_RE = /[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}/g;
const IPV6_EDGE = /[0-9A-Za-z_:.]/;

// NANP: (212) 555-0123, 212-555-0123, 212.555.0123, 212 555 0123, with an optional +1 / 1 prefix.
const NANP_RE = /(?:\+?1[ .-]?)?(?:\(([2-9]\d\d)\) ?|([2-9]\d\d)([ .-]))([2-9]\d\d)([ .-])(\d{4})/g;
// International: +CC then 2-5 groups of 1-5 digits separated by one space, dot or hyphen.
const INTL_RE = /\+[1-9]\d{0,2}(?:[ .-]\(?\d{1,5}\)?){2,5}/g;

function before(text: string, i: number): string {
  return i > 0 ? text[i - 1] : '';
}
function after(text: string, i: number): string {
  return i < text.length ? text[i] : '';
}
const isDigit = (c: string) => c >= '0' && c <= '9';
const isAlnum = (c: string) => /[0-9A-Za-z]/.test(c);

function validEmail(m: string): boolean {
  const at = m.indexOf('@');
  const local = m.slice(0, at);
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return false;
  const labels = m.slice(at + 1).split('.');
  for (const l of labels) if (l.startsWith('-') || l.endsWith('-')) return false;
  const tld = labels[labels.length - 1];
  return TLD.test(tld) && !FILE_EXT.has(tld.toLowerCase());
}

function publicIPv4(o: number[]): boolean {
  const [a, b, c] = o;
  if (a === 0 || a === 10 || a === 127 || a >= 224) return false;
  if (a === 100 && b >= 64 && b <= 127) return false; // CGNAT
  if (a === 169 && b === 254) return false;
  if (a === 172 && b >= 16 && b <= 31) return false;
  if (a === 192 && b === 168) return false;
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return false;
  if (a === 198 && (b === 18 || b === 19)) return false;
  if (a === 198 && b === 51 && c === 100) return false;
  if (a === 203 && b === 0 && c === 113) return false;
  return true;
}

function publicIPv6(s: string): boolean {
  const x = s.toLowerCase();
  if (x === '::' || x === '::1') return false;
  const head = x.startsWith('::') ? 0 : Number.parseInt(x.split(':')[0], 16);
  if ((head & 0xffc0) === 0xfe80) return false; // link-local
  if ((head & 0xfe00) === 0xfc00) return false; // unique local
  if ((head & 0xff00) === 0xff00) return false; // multicast
  if (head === 0x2001 && /^2001:0*db8(:|$)/.test(x)) return false; // documentation
  return true;
}

/** The PII of one text replaced, with matches per kind (null when nothing matched). */
export class PiiRedactor {
  constructor(readonly p: PiiParams) {}

  /** Redacted text and counts; `counts` is null (and `text` the input) when nothing matched. */
  redact(text: string): { text: string; counts: Record<PiiKind, number> | null } {
    const counts: Record<PiiKind, number> = { email: 0, ipv4: 0, ipv6: 0, phone: 0 };
    let out = text;
    const p = this.p;
    if (p.email && out.includes('@')) {
      out = out.replace(EMAIL_RE, (m, offset: number, s: string) => {
        // trim leading dots and a start inside a longer run (the 64-character bound)
        let start = 0;
        while (m[start] === '.') start++;
        if (start === 0 && LOCAL_CHAR.test(before(s, offset))) return m;
        const e = m.slice(start);
        if (!validEmail(e) || isAlnum(after(s, offset + m.length))) return m;
        counts.email++;
        return m.slice(0, start) + p.email_placeholder;
      });
    }
    if (p.ip && out.includes('.')) {
      out = out.replace(IPV4_RE, (m, offset: number, s: string) => {
        const b = before(s, offset);
        const a = after(s, offset + m.length);
        if (isAlnum(b) || isAlnum(a)) return m;
        if (b === '.' && isDigit(before(s, offset - 1))) return m;
        if (a === '.' && isDigit(after(s, offset + m.length + 1))) return m;
        const o = m.split('.').map(Number);
        if (o.every((x) => x < 10)) return m;
        if (VERSION_WORD.test(s.slice(Math.max(0, offset - 16), offset))) return m;
        if (p.only_public_ips && !publicIPv4(o)) return m;
        counts.ipv4++;
        return p.ip_placeholder;
      });
    }
    if (p.ip && out.includes(':')) {
      out = out.replace(IPV6_RE, (m, offset: number, s: string) => {
        const a = after(s, offset + m.length);
        if (IPV6_EDGE.test(before(s, offset)) || (a !== '.' && IPV6_EDGE.test(a))) return m;
        if (a === '.' && IPV6_EDGE.test(after(s, offset + m.length + 1))) return m;
        if (!/\d/.test(m) || m.split(':').filter((g) => g !== '').length < 3 || !isIPv6(m)) return m;
        if (p.only_public_ips && !publicIPv6(m)) return m;
        counts.ipv6++;
        return p.ip_placeholder;
      });
    }
    if (p.phone && /\d/.test(out)) {
      const phone = (m: string, offset: number, s: string, sepsOk: boolean): string => {
        if (!sepsOk) return m;
        const b = before(s, offset);
        const a = after(s, offset + m.length);
        if (isAlnum(b) || b === '-' || b === '.' || b === '+' || isAlnum(a) || a === '-') return m;
        if (a === '.' && isDigit(after(s, offset + m.length + 1))) return m;
        counts.phone++;
        return p.phone_placeholder;
      };
      out = out.replace(
        NANP_RE,
        (
          m,
          _paren: string,
          _area: string,
          sep1: string | undefined,
          _ex: string,
          sep2: string,
          _n,
          offset: number,
          s: string,
        ) => phone(m, offset, s, sep1 === undefined || sep1 === sep2),
      );
      out = out.replace(INTL_RE, (m, offset: number, s: string) => {
        const digits = m.replace(/\D/g, '').length;
        return phone(m, offset, s, digits >= 8 && digits <= 15);
      });
    }
    if (out === text) return { text, counts: null };
    return { text: out, counts };
  }
}

export function pii(p: PiiParams): Pick<Filter, 'filter' | 'redact'> {
  const r = new PiiRedactor(p);
  return {
    filter(doc: FilterDoc): FilterResult {
      const { text, counts } = r.redact(doc.text);
      if (!counts) return true;
      doc.count('rows');
      for (const k of ['email', 'ipv4', 'ipv6', 'phone'] as const) if (counts[k]) doc.count(k, counts[k]);
      return { text };
    },
    redact: (value: string) => r.redact(value).text,
  };
}
