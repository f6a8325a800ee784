import { readFileSync } from 'node:fs';
import { collect, makeBatch, Stats, silentLogger } from '@curate/core';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { createFilter, FILTER_DEFAULTS, FilterChain, PiiRedactor, qualityStep } from '../src/index.js';

const all = new PiiRedactor({ ...FILTER_DEFAULTS.pii, phone: true });
const red = (t: string) => all.redact(t).text;

describe('pii rules', () => {
  it('e-mail addresses, not image names, code or templates', () => {
    expect(red('Mail vdwarren@education.wisc.edu.')).toBe('Mail <EMAIL_ADDRESS>.');
    expect(red('<hart@pobox.com> and (jane.o+x@mail.example.co.uk)')).toBe('<<EMAIL_ADDRESS>> and (<EMAIL_ADDRESS>)');
    for (const t of [
      'icon@2x.png',
      'a@b',
      'user@localhost',
      '@handle',
      'x@y.c0m',
      '{first}{last}@corp.com',
      'a@-b.com',
    ])
      expect(red(t), t).toBe(t);
  });

  it('public IPv4 only, not versions, sections, outline numbers or invalid octets (datatrove cases)', () => {
    const valid = ['163.36.107.25', '114.35.103.54', '57.120.21.121', '13.83.69.70', '211.160.67.46', '4.132.211.142'];
    for (const ip of valid) expect(red(`host ${ip} up`), ip).toBe('host <IP_ADDRESS> up');
    const keep = [
      '999.999.999.999',
      '108.0.0.01',
      '0.1.2.3',
      '192.168.l.1',
      '912.456.123.123',
      '172.16.0.9',
      '127.0.0.2',
      '10.155.155.155',
      '192.168.254.0',
      '100.64.1.1',
      '224.1.1.1',
      'git 1.7.7.3',
      '§15.12.2.7',
      'version 10.2.31.4',
      '1.1.2.2.3',
      '3.1.4.2',
      '8.8.8.8',
    ];
    for (const t of keep) expect(red(t), t).toBe(t);
    const priv = new PiiRedactor({ ...FILTER_DEFAULTS.pii, only_public_ips: false });
    expect(priv.redact('gw 192.168.1.1').text).toBe('gw <IP_ADDRESS>');
  });

  it('IPv6 with three or more groups, not Python slices or times', () => {
    expect(red('dns 2001:4860:4860::8888 ok')).toBe('dns <IP_ADDRESS> ok');
    expect(red('at 2a03:2880:f12f:83:face:b00c:0:25de.')).toBe('at <IP_ADDRESS>.');
    for (const t of ['a[1::-1]', 'x[::2]', '12:30:45', 'std::map', 'fe80::1:2:3', '2001:db8::1', '::1'])
      expect(red(t), t).toBe(t);
  });

  it('phone numbers (opt-in): North American formats and +country numbers', () => {
    expect(red('call (801) 596-1887, or 910.538.0115 or 1-800-375-5283.')).toBe(
      'call <PHONE_NUMBER>, or <PHONE_NUMBER> or <PHONE_NUMBER>.',
    );
    expect(red('London +44 20 7946 0958')).toBe('London <PHONE_NUMBER>');
    for (const t of ['ISBN 978-3-16-148410-0', '1999-2000', 'id 123-456-78901', '212-555.0123', 'score +5 10'])
      expect(red(t), t).toBe(t);
    expect(createFilter('pii').filter).toBeDefined();
    expect(new PiiRedactor(FILTER_DEFAULTS.pii).redact('call 212-555-0123').counts).toBeNull();
  });

  it('counts rows changed and matches per kind per source; other string columns redacted the same way', async () => {
    const stats = new Stats();
    const batch = makeBatch({
      text: ['write a@b.org or c@d.org', 'nothing here', 'ip 163.36.107.25'],
      source: ['web', 'web', 'forum'],
      url: ['mailto:a@b.org', 'https://x.org', 'http://163.36.107.25/'],
      n: [1, 2, 3],
    });
    const out = await collect(
      qualityStep([createFilter('pii')])(
        (async function* () {
          yield batch;
        })(),
        { rank: 0, worldSize: 1, stats, log: silentLogger },
      ),
    );
    expect(out[0].columns.text).toEqual([
      'write <EMAIL_ADDRESS> or <EMAIL_ADDRESS>',
      'nothing here',
      'ip <IP_ADDRESS>',
    ]);
    expect(out[0].columns.url).toEqual(['mailto:<EMAIL_ADDRESS>', 'https://x.org', 'http://<IP_ADDRESS>/']);
    expect(batch.columns.url[0]).toBe('mailto:a@b.org'); // the input batch is not modified
    expect(stats.toJSON()).toEqual({
      forum: { rows_read: 0, rows_kept: 0, dropped: {}, changed: { 'pii:ipv4': 1, 'pii:rows': 1 } },
      web: { rows_read: 0, rows_kept: 0, dropped: {}, changed: { 'pii:email': 2, 'pii:rows': 1 } },
    });
  });
});

describe.skipIf(!HAS_SHARED)('pii on real text', () => {
  const lines = (file: string) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).text as string);

  it('C4: the 7 e-mail addresses and 23 phone numbers, every one checked by hand, nothing else', () => {
    const chain = new FilterChain([createFilter('pii', { phone: true })]);
    const stats = new Stats();
    chain.countInto(stats);
    const changed: string[] = [];
    for (const t of lines(shared('real_text', 'c4_sample.jsonl'))) {
      if (chain.run(t, 'c4', 'real') === null && chain.doc.text !== t) changed.push(chain.doc.text);
    }
    expect(stats.toJSON().c4.changed).toEqual({ 'pii:email': 7, 'pii:phone': 23, 'pii:rows': 10 });
    expect(changed).toHaveLength(10);
    const all = changed.join('\n');
    for (const gone of [
      'vdwarren@education.wisc.edu',
      '910.538.0115',
      'woof@rescuedtails.com',
      '951-704-3374',
      '213-484-0480',
    ])
      expect(all).not.toContain(gone);
    expect(all).toContain('at 262-3773 or <EMAIL_ADDRESS>.'); // a 7-digit local number is not a reliable rule
  });

  it('Gutenberg headers: the PGLAF contact e-mails and phone number', () => {
    const f = shared('real_text', 'gutenberg', 'gutenberg-00000-of-00004.jsonl');
    const r = new PiiRedactor({ ...FILTER_DEFAULTS.pii, phone: true });
    let email = 0;
    let phone = 0;
    let books = 0;
    for (const t of lines(f)) {
      const { text, counts } = r.redact(t);
      if (!counts) continue;
      books++;
      email += counts.email;
      phone += counts.phone;
      expect(text).not.toMatch(/gbnewby@pglaf\.org|business@pglaf\.org|\(801\) 596-1887/);
      expect(counts.ipv4 + counts.ipv6).toBe(0);
    }
    expect(books).toBeGreaterThan(40);
    expect(email).toBeGreaterThan(books);
    expect(phone).toBeGreaterThanOrEqual(books - 5);
  });
});
