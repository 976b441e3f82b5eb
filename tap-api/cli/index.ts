/** CLI clients that talk to sidecars and the tap API: tap streams, their printing, stat and top. */
export { openSource, consumeTap, describeSidecarError } from './tap.js';
export type { TapSource, ConsumeOptions } from './tap.js';
export { formatEventText, formatMessage } from './format.js';
export type { TapOutput } from './format.js';
export { FILTER_OPTIONS, FILTER_HELP, filtersFromArgs } from './filter-flags.js';
export { openTapApiStream, listSidecars, tapApiPath } from './client.js';
export type { TapApiStreamOptions } from './client.js';
export { openKubeTapStream, findKubeconfig, loadKubeconfig } from './kube-client.js';
export type { KubeTapStreamOptions } from './kube-client.js';
export { collectStats, renderStatTable } from './stat.js';
export { runTop } from './top.js';
