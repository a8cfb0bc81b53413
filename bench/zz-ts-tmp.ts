import { utcIsoMicros } from "../packages/sinks/src/redshift/redshift-stage-encoder.js";
const xs = Array.from({ length: 500000 }, (_, i) => new Date(1_700_000_000_000 + i).toISOString());
const out = new Float64Array(xs.length);
for (let r = 0; r < 8; r++) { const t = process.cpuUsage(); for (let i = 0; i < xs.length; i++) out[i] = utcIsoMicros(xs[i] as string) ?? 0; const u = process.cpuUsage(t); console.log(((u.user + u.system) / 1000).toFixed(1)); }
