import { describe, expect, it } from 'vitest';
import { parseTapRequest } from './tap-request.js';

describe('parseTapRequest', () => {
  it('passes endsOnly on (record, top ask for end events only) and refuses a non-boolean', () => {
    expect(parseTapRequest({ matches: [], bodies: true, endsOnly: true })).toEqual({ ok: true, value: { matches: [], bodies: true, endsOnly: true } });
    expect(parseTapRequest({ matches: [] })).toEqual({ ok: true, value: { matches: [], bodies: false } });
    expect(parseTapRequest({ matches: [], endsOnly: 'yes' })).toEqual({ ok: false, error: 'endsOnly must be true or false' });
  });
});
