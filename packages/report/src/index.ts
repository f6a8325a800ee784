export type {
  ReportComparison,
  ReportDedup,
  ReportInputFile,
  ReportKindRatio,
  ReportManifest,
  ReportMetrics,
  ReportQualitySignal,
  ReportShard,
  ReportSource,
  ReportWarning,
} from './manifest.js';
export { type RenderOptions, renderReport } from './render.js';
export { type WriteReportOptions, writeReport } from './write.js';
