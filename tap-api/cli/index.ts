/** CLI helpers that talk to sidecars and the tap API: tap streams and their printing. */
export { openSource, consumeTap, describeSidecarError } from './tap.js';
export type { TapSource, ConsumeOptions } from './tap.js';
export { formatEventText, formatMessage } from './format.js';
export type { TapOutput } from './format.js';
export { FILTER_OPTIONS, FILTER_HELP, filtersFromArgs } from './filter-flags.js';
