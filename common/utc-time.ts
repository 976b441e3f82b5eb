/**
 * UTC times as text without Date's string methods: `isoTime(ms)` is `new Date(ms).toISOString()` and
 * `httpDate(ms)` is `new Date(ms).toUTCString()`, character for character.
 *
 * Why not Date's own: in Node 20's V8 every Date-to-text conversion, the UTC ones included, looks up
 * the local time zone's offset and display name first (ToDateString), which loads ICU's time-zone
 * data and names (zoneinfo64, metaZones, zone/*.res of the default locale): ~1 MB of node's executable
 * made resident, plus ICU's caches, in a process that never shows a local time (issue 14: the tapped
 * native sidecar's RSS ≤ 60 MB; a tap stamps every event with `isoTime`; docs/decisions.md, session
 * 14, rss14). Plain arithmetic on the time value gives the same text. Years outside 0–9999 (which Date
 * writes with a sign and six digits) and invalid times go to Date's own method, so every input gives
 * exactly what Date gives (a RangeError for an invalid time in `isoTime`).
 */

const MS_PER_DAY = 86_400_000;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
/** Greatest time value Date accepts (ECMAScript TimeClip). */
const MAX_TIME_MS = 8.64e15;

interface UtcFields {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
  /** 0 = Sunday */
  weekday: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
}

/** The UTC fields of a time value, or undefined when Date would not write a 4-digit year for it. */
function utcFields(time: number): UtcFields | undefined {
  if (!(Math.abs(time) <= MAX_TIME_MS)) return undefined; // NaN too
  const t = Math.trunc(time) + 0; // TimeClip; + 0 turns -0 into 0
  const days = Math.floor(t / MS_PER_DAY);
  const inDay = t - days * MS_PER_DAY;
  // Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days).
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) return undefined;
  return {
    year,
    month,
    day: doy - Math.floor((153 * mp + 2) / 5) + 1,
    weekday: (((days + 4) % 7) + 7) % 7,
    hour: Math.floor(inDay / 3_600_000),
    minute: Math.floor(inDay / 60_000) % 60,
    second: Math.floor(inDay / 1000) % 60,
    ms: inDay % 1000,
  };
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;
const pad3 = (n: number): string => (n < 10 ? '00' : n < 100 ? '0' : '') + n;
const pad4 = (n: number): string => (n < 10 ? '000' : n < 100 ? '00' : n < 1000 ? '0' : '') + n;

/** `new Date(time).toISOString()`: `YYYY-MM-DDTHH:MM:SS.mmmZ`. */
export function isoTime(time: number): string {
  const f = utcFields(time);
  if (!f) return new Date(time).toISOString();
  return `${pad4(f.year)}-${pad2(f.month)}-${pad2(f.day)}T${pad2(f.hour)}:${pad2(f.minute)}:${pad2(f.second)}.${pad3(f.ms)}Z`;
}

/** `new Date(time).toUTCString()`: `Www, DD Mmm YYYY HH:MM:SS GMT` (an HTTP date). */
export function httpDate(time: number): string {
  const f = utcFields(time);
  if (!f) return new Date(time).toUTCString();
  return `${WEEKDAYS[f.weekday]}, ${pad2(f.day)} ${MONTHS[f.month - 1]} ${pad4(f.year)} ${pad2(f.hour)}:${pad2(f.minute)}:${pad2(f.second)} GMT`;
}
