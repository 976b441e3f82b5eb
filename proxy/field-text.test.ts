import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFieldText } from './field-text.js';

const latin1 = (bytes: number[] | Buffer): string => Buffer.from(bytes).toString('latin1');

describe('regression: a non-ASCII request target read as mojibake (/caf\\xc3\\xa9 -> /cafÃ©)', () => {
  it('reads valid UTF-8 as UTF-8, in targets and values alike', () => {
    const cafe = Buffer.from('/café/日本', 'utf8').toString('latin1');
    expect(decodeFieldText(cafe, 'percent')).toBe('/café/日本');
    expect(decodeFieldText(cafe, 'backslash')).toBe('/café/日本');
  });

  it('shows bytes that are not UTF-8 escaped, keeping the valid parts readable', () => {
    expect(decodeFieldText(latin1([0x2f, 0x63, 0xe9]), 'percent')).toBe('/c%E9');
    expect(decodeFieldText(latin1([0xe9, 0x20, 0x41]), 'backslash')).toBe('\\xE9 A');
    expect(decodeFieldText(latin1([...Buffer.from('é'), 0xff, ...Buffer.from('ü')]), 'percent')).toBe('é%FFü');
    // Overlong, surrogate, beyond U+10FFFF and truncated sequences are not UTF-8.
    expect(decodeFieldText(latin1([0xc0, 0xaf]), 'percent')).toBe('%C0%AF');
    expect(decodeFieldText(latin1([0xed, 0xa0, 0x80]), 'percent')).toBe('%ED%A0%80');
    expect(decodeFieldText(latin1([0xf4, 0x90, 0x80, 0x80]), 'percent')).toBe('%F4%90%80%80');
    expect(decodeFieldText(latin1([0x41, 0xe2, 0x82]), 'backslash')).toBe('A\\xE2\\x82');
  });

  it('returns ASCII unchanged', () => {
    expect(decodeFieldText('/plain?x=%E9', 'percent')).toBe('/plain?x=%E9');
  });

  it('never loses a byte: undoing the escapes gives back the bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        // ASCII '%' would make undoing ambiguous; the property is about non-ASCII bytes.
        const input = Buffer.from(bytes.filter((b) => b !== 0x25));
        const shown = decodeFieldText(input.toString('latin1'), 'percent');
        const undone = Buffer.concat(shown.split(/(%[0-9A-F]{2})/).map((part) => (/^%[0-9A-F]{2}$/.test(part) ? Buffer.from([parseInt(part.slice(1), 16)]) : Buffer.from(part, 'utf8'))));
        expect(undone.equals(input)).toBe(true);
      }),
    );
  });
});
