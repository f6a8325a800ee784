/** The report's stylesheet (inline; its hash goes into the Content-Security-Policy). */
export const CSS = `
:root{--ink:#1a1a1a;--muted:#4a4f57;--line:#d5d9df;--soft:#f3f4f6;--page:#eef0f3;--accent:#0072B2;--warn:#a23b00;--warn-bg:#fff4ec;--ok:#006b4f}
*{box-sizing:border-box}
html{font-size:15px}
body{margin:0;background:var(--page);color:var(--ink);font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;line-height:1.5}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.86em}
code{background:var(--soft);border-radius:3px;padding:.05em .3em;overflow-wrap:anywhere}
a{color:#005a8c}
a:focus-visible,summary:focus-visible{outline:3px solid #E69F00;outline-offset:2px}
.page-header,nav,main,footer{max-width:1120px;margin:0 auto;padding:0 24px}
.page-header{padding-top:28px;padding-bottom:8px}
.kicker{margin:0;text-transform:uppercase;letter-spacing:.08em;font-size:.78rem;font-weight:600;color:var(--accent)}
h1{margin:.15em 0 .5em;font-size:1.9rem;line-height:1.2;overflow-wrap:anywhere}
h2{margin:0 0 .4em;font-size:1.35rem;line-height:1.25;padding-bottom:.3em;border-bottom:2px solid var(--soft)}
h3{margin:1.6em 0 .5em;font-size:1.05rem}
.meta{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:6px 18px;margin:0;padding:14px 16px;background:#fff;border:1px solid var(--line);border-radius:8px}
.meta div{min-width:0}
.meta dt{font-size:.75rem;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.meta dd{margin:0;font-size:.92rem;overflow-wrap:anywhere}
.badge{display:inline-block;margin:0 0 10px;padding:3px 10px;border-radius:999px;background:#fff1c2;border:1px solid #b58a00;font-weight:600;font-size:.85rem}
nav{margin-top:12px;margin-bottom:8px}
nav ol{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:6px}
nav a{display:inline-block;padding:4px 11px;border-radius:999px;background:#fff;border:1px solid var(--line);text-decoration:none;font-size:.85rem;color:var(--ink)}
nav a:hover{border-color:var(--accent);color:var(--accent)}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:20px 24px 22px;margin:16px 0}
.lead{margin:0 0 14px;color:var(--muted);max-width:72em}
.note{color:var(--muted);font-size:.85rem;margin:.5em 0}
.empty{color:var(--muted);font-style:italic;margin:.3em 0}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{flex:1 1 120px;border:1px solid var(--line);border-radius:8px;padding:10px 14px;background:linear-gradient(#fff,#fafbfc)}
.card-k{margin:0;font-size:.76rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.card-v{margin:2px 0 0;font-size:1.3rem;font-weight:650;font-variant-numeric:tabular-nums}
.card-s{margin:2px 0 0;font-size:.8rem;color:var(--muted)}
.card-warn{border-color:#D55E00;background:var(--warn-bg)}
.card-warn .card-v{color:var(--warn)}
.callout{margin:14px 0 0;padding:10px 14px;border-left:4px solid #E69F00;background:#fff8e6;border-radius:4px}
.warnings{list-style:none;margin:0;padding:0;display:grid;gap:10px}
.warning{border:1px solid #e8b899;border-left:5px solid #D55E00;background:var(--warn-bg);border-radius:6px;padding:10px 14px}
.warning p{margin:.15em 0}
.w-head{font-weight:700}
.w-icon{color:var(--warn)}
.w-code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--warn)}
.w-msg{font-size:.98rem}
.w-src,.w-fact{font-size:.85rem;color:#3b3f45}
.w-fact-k{font-weight:600}
.tag{display:inline-block;vertical-align:middle;font-size:.72rem;font-weight:600;padding:1px 8px;border-radius:999px;text-transform:uppercase;letter-spacing:.04em;margin-left:6px}
.tag-real{background:#e3f0f9;color:#00507d;border:1px solid #0072B2}
.tag-synthetic{color:#8a3300;border:1px dashed #D55E00;background:repeating-linear-gradient(45deg,#fff4ec 0 4px,#ffe5d3 4px 8px)}
.figure{margin:10px 0 18px;padding:0}
.figure svg.chart{display:block;width:100%;max-width:900px;height:auto;overflow:visible}
figcaption{font-size:.95rem;font-weight:650;margin:0 0 6px}
svg .lbl{font-size:12px;fill:#1a1a1a}
svg .val{font-size:11.5px;fill:#2b2f35;font-variant-numeric:tabular-nums}
svg .val-halo{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
svg .lbl-warn{fill:#a23b00;font-weight:650}
svg .tick{font-size:11px;fill:#4a4f57;font-variant-numeric:tabular-nums}
svg .axis{font-size:11.5px;fill:#4a4f57}
svg .grid{stroke:#e3e6ea;stroke-width:1}
svg .axis-line{stroke:#6b7078;stroke-width:1}
svg .ref{stroke:#1a1a1a;stroke-width:1.3;stroke-dasharray:5 3}
svg .connector{stroke:#9aa0a8;stroke-width:1;stroke-dasharray:2 2}
.multiples{display:grid;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));gap:0 22px}
.multiple{min-width:0}
.multiple .figure{margin:8px 0 12px}
.multiple figcaption{font-size:.86rem;margin-bottom:2px;min-height:3em}
.multiple .note{font-size:.76rem;margin:.2em 0}
.multiple .figure svg.chart{max-width:360px}
ul.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 18px;margin:0 0 4px;padding:0;font-size:.85rem}
ul.legend li{display:flex;align-items:center;gap:6px}
.sw{display:inline-block;width:16px;height:12px;border:1px solid}
.sw-real{background:rgba(0,114,178,.25);border-color:#0072B2}
.sw-synthetic{border-color:#D55E00;background:repeating-linear-gradient(45deg,#fbe3d3 0 2px,#D55E00 2px 4px)}
.sw-bound{border:none;height:0;width:20px;border-top:1.5px dashed #1a1a1a}
.sw-drop{background:#eceef1;border-color:#c9cdd3}
svg .ref-faint{stroke:#8a9099}
svg .tick-ref{fill:#1a1a1a;font-weight:600}
details.data-details{margin-top:6px}
details.data-details>summary{cursor:pointer;font-size:.85rem;color:#005a8c;width:max-content;max-width:100%}
.table-wrap{overflow-x:auto;margin:6px 0}
table.data{border-collapse:collapse;font-size:.86rem;min-width:40%;font-variant-numeric:tabular-nums}
table.data caption{text-align:left;color:var(--muted);font-size:.8rem;padding-bottom:4px}
table.data th,table.data td{padding:5px 9px;border-bottom:1px solid #e6e8eb;text-align:left;vertical-align:top}
table.data thead th{background:var(--soft);font-weight:600;font-size:.78rem;text-transform:uppercase;letter-spacing:.03em;color:#3b3f45;border-bottom:1px solid var(--line);white-space:nowrap}
table.data tbody th{font-weight:500;white-space:nowrap}
table.checksums tbody th{white-space:normal}
table.data tbody tr:nth-child(even){background:#fafbfc}
table.data .num{text-align:right;white-space:nowrap}
table.checksums td,table.checksums th{white-space:normal}
code.hash{background:none;padding:0;font-size:.78rem;word-break:break-all;color:#3b3f45}
.sub{color:var(--muted);font-size:.9em}
.bad{color:var(--warn)}
.warn-cell{display:inline-block;padding:1px 6px;text-align:right;line-height:1.3;border-radius:3px;background:var(--warn-bg);outline:1px solid #D55E00;color:var(--warn);font-weight:650}
.warn-code{display:block;font-weight:500;font-size:.74em}
.warn-code a{color:var(--warn)}
pre.recipe{background:#f7f8fa;border:1px solid var(--line);border-radius:6px;padding:12px 14px;overflow-x:auto;line-height:1.45;margin:0}
footer{color:var(--muted);font-size:.8rem;padding-bottom:30px}
@media (max-width:700px){section{padding:14px}.page-header,nav,main,footer{padding:0 10px}}
@media print{
@page{margin:14mm}
html{font-size:11pt}
body{background:#fff}
nav{display:none}
section{border:none;border-radius:0;padding:0;margin:0;break-before:page}
section#summary,section#warnings{break-before:auto;margin-top:12pt}
.figure,table,.warning,.card,pre{break-inside:avoid}
.sw,.tag-synthetic{print-color-adjust:exact;-webkit-print-color-adjust:exact}
.multiples{grid-template-columns:repeat(2,minmax(0,1fr));gap:0 14pt}
.multiple table.data{font-size:7pt;min-width:0;width:100%}
.multiple table.data th,.multiple table.data td{padding:1pt 3pt}
.multiple table.data thead th{white-space:normal;font-size:6.5pt;letter-spacing:0}
.figure svg.chart{max-width:100%}
details.data-details>summary{display:none}
.table-wrap{overflow:visible}
pre.recipe{white-space:pre-wrap;overflow-wrap:anywhere}
a{color:inherit;text-decoration:none}
}
`;
