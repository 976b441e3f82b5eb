/** CLI clients that talk to sidecars and the tap API: tap streams, their printing, stat and top. */
export { openSource, consumeTap, describeSidecarError, probeAdminPort } from './tap.js';
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
export { createTapView, parseTapOutput, MAX_SORTED_HISTORY } from './tap-view.js';
export type { TapView, TapViewOptions, TapViewOutput } from './tap-view.js';
export { compileJsonPath } from './jsonpath.js';
export { colorFromArgs, COLOR_HELP } from './color.js';
export { connectionFromArgs, sourceFor, SOURCE_OPTIONS, SOURCE_HELP } from './source-flags.js';
export type { TapApiConnection } from './source-flags.js';
export { targetFromArgs } from './target-args.js';
