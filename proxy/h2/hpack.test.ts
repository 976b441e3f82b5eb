import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HpackDecoder, type HpackResult } from './hpack-decoder.js';
import { HUFFMAN_CODE_LENGTHS, HUFFMAN_CODES, decodeHuffman } from './huffman.js';
import { encodeHuffman, encodeInteger, encodeLiteral, encodeString } from './test-support/hpack-encoder.js';

type Fields = Array<[string, string]>;

function newDecoder(maxHeaderListBytes = 1 << 20, maxTableBytes = 1 << 16): HpackDecoder {
  return new HpackDecoder({ maxHeaderListBytes, maxTableBytes });
}

function decode(d: HpackDecoder, hex: string): { result: HpackResult; headers: Fields } {
  const block = Buffer.from(hex.replace(/\s+/g, ''), 'hex');
  const headers: Fields = [];
  return { result: d.decode(block, 0, block.length, headers), headers };
}

const DATE_21: [string, string] = ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'];
const DATE_22: [string, string] = ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'];
const LOCATION: [string, string] = ['location', 'https://www.example.com'];
const COOKIE: [string, string] = ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'];

interface Step {
  hex: string;
  headers: Fields;
  table: Fields;
  size: number;
}

/** RFC 7541 Appendix C, request and response sequences (one decoder per sequence). */
const REQUESTS: Fields[] = [
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
  [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
];
const REQUEST_TABLES: Array<[Fields, number]> = [
  [[[':authority', 'www.example.com']], 57],
  [[['cache-control', 'no-cache'], [':authority', 'www.example.com']], 110],
  [[['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']], 164],
];
const RESPONSES: Fields[] = [
  [[':status', '302'], ['cache-control', 'private'], DATE_21, LOCATION],
  [[':status', '307'], ['cache-control', 'private'], DATE_21, LOCATION],
  [[':status', '200'], ['cache-control', 'private'], DATE_22, LOCATION, ['content-encoding', 'gzip'], COOKIE],
];
const RESPONSE_TABLES: Array<[Fields, number]> = [
  [[LOCATION, DATE_21, ['cache-control', 'private'], [':status', '302']], 222],
  [[[':status', '307'], LOCATION, DATE_21, ['cache-control', 'private']], 222],
  [[COOKIE, ['content-encoding', 'gzip'], DATE_22], 215],
];

const steps = (hexes: string[], lists: Fields[], tables: Array<[Fields, number]>): Step[] =>
  hexes.map((hex, i) => ({ hex, headers: lists[i]!, table: tables[i]![0], size: tables[i]![1] }));

const SEQUENCES: Record<string, { tableSize: number; steps: Step[] }> = {
  'C.3 requests without Huffman': {
    tableSize: 4096,
    steps: steps(
      [
        '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
        '8286 84be 5808 6e6f 2d63 6163 6865',
        '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
      ],
      REQUESTS,
      REQUEST_TABLES,
    ),
  },
  'C.4 requests with Huffman': {
    tableSize: 4096,
    steps: steps(
      [
        '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
        '8286 84be 5886 a8eb 1064 9cbf',
        '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
      ],
      REQUESTS,
      REQUEST_TABLES,
    ),
  },
  'C.5 responses without Huffman': {
    tableSize: 256,
    steps: steps(
      [
        '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d' +
          '546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
        '4803 3330 37c1 c0bf',
        '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f' +
          '6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630' +
          '303b 2076 6572 7369 6f6e 3d31',
      ],
      RESPONSES,
      RESPONSE_TABLES,
    ),
  },
  'C.6 responses with Huffman': {
    tableSize: 256,
    steps: steps(
      [
        '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7' +
          '8f0b 97c8 e9ae 82ae 43d3',
        '4883 640e ffc1 c0bf',
        '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335' +
          'dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
      ],
      RESPONSES,
      RESPONSE_TABLES,
    ),
  },
};

describe('HPACK decoder: RFC 7541 Appendix C', () => {
  it('C.2.1 literal with indexing adds to the dynamic table', () => {
    const d = newDecoder();
    const { result, headers } = decode(d, '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572');
    expect(result.ok).toBe(true);
    expect(headers).toEqual([['custom-key', 'custom-header']]);
    expect(d.table.entries()).toEqual([['custom-key', 'custom-header']]);
    expect(d.table.size).toBe(55);
  });

  it('C.2.2 literal without indexing leaves the table empty', () => {
    const d = newDecoder();
    const { result, headers } = decode(d, '040c 2f73 616d 706c 652f 7061 7468');
    expect(result.ok).toBe(true);
    expect(headers).toEqual([[':path', '/sample/path']]);
    expect(d.table.entries()).toEqual([]);
    expect(d.table.size).toBe(0);
  });

  it('C.2.3 never-indexed literal leaves the table empty', () => {
    const d = newDecoder();
    const { result, headers } = decode(d, '1008 7061 7373 776f 7264 0673 6563 7265 74');
    expect(result.ok).toBe(true);
    expect(headers).toEqual([['password', 'secret']]);
    expect(d.table.size).toBe(0);
  });

  it('C.2.4 indexed field from the static table', () => {
    const d = newDecoder();
    const { result, headers } = decode(d, '82');
    expect(result.ok).toBe(true);
    expect(headers).toEqual([[':method', 'GET']]);
    expect(d.table.size).toBe(0);
  });

  for (const [name, seq] of Object.entries(SEQUENCES)) {
    it(`${name}: decoded lists and dynamic table after each block`, () => {
      const d = newDecoder();
      d.table.setMaxSize(seq.tableSize);
      for (const step of seq.steps) {
        const { result, headers } = decode(d, step.hex);
        expect(result).toEqual({ ok: true });
        expect(headers).toEqual(step.headers);
        expect(d.table.entries()).toEqual(step.table);
        expect(d.table.size).toBe(step.size);
      }
    });
  }
});

describe('Huffman code', () => {
  it('matches RFC 7541 Appendix B codes at spot checks', () => {
    const rfc: Array<[number, number, number]> = [
      [0, 0x1ff8, 13], [9, 0xffffea, 24], [10, 0x3ffffffc, 30], [32, 0x14, 6], [48, 0x0, 5], [97, 0x3, 5],
      [122, 0x7b, 7], [127, 0xffffffc, 28], [128, 0xfffe6, 20], [200, 0x3ffffe2, 26], [255, 0x3ffffee, 26],
      [256, 0x3fffffff, 30],
    ];
    for (const [symbol, code, length] of rfc) {
      expect([HUFFMAN_CODES[symbol], HUFFMAN_CODE_LENGTHS[symbol]]).toEqual([code, length]);
    }
    // A complete prefix code: Kraft sum exactly 1.
    expect(HUFFMAN_CODE_LENGTHS.reduce((sum, l) => sum + 2 ** -l, 0)).toBe(1);
  });

  it('round-trips every byte value, alone and in one long string', () => {
    for (let b = 0; b < 256; b++) {
      const enc = encodeHuffman(Buffer.from([b]));
      expect(decodeHuffman(enc, 0, enc.length)).toBe(String.fromCharCode(b));
    }
    const all = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 7) & 0xff));
    const enc = encodeHuffman(all);
    expect(Buffer.from(decodeHuffman(enc, 0, enc.length)!, 'latin1')).toEqual(all);
    expect(decodeHuffman(Buffer.alloc(0), 0, 0)).toBe('');
  });

  it('round-trips random byte strings (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const enc = encodeHuffman(Buffer.from(bytes));
        expect(decodeHuffman(enc, 0, enc.length)).toBe(Buffer.from(bytes).toString('latin1'));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on random input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const out = decodeHuffman(buf, 0, buf.length);
        expect(out === null || typeof out === 'string').toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('rejects padding longer than 7 bits, padding that is not all ones, and EOS', () => {
    // 'a' (00011) + 3 one-bits is valid; a whole extra 0xff byte is over-long padding.
    expect(decodeHuffman(Buffer.from([0x1f]), 0, 1)).toBe('a');
    expect(decodeHuffman(Buffer.from([0x1f, 0xff]), 0, 2)).toBeNull();
    // 'a' then padding 110 (not a prefix of EOS).
    expect(decodeHuffman(Buffer.from([0x1e]), 0, 1)).toBeNull();
    // EOS (30 ones) encoded explicitly, padded with ones to 32 bits.
    expect(decodeHuffman(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4)).toBeNull();
  });
});

describe('HPACK integers and strings', () => {
  it('decodes prefix-boundary and multi-byte integers (RFC 7541 C.1)', () => {
    // C.1.1 10 with a 5-bit prefix, C.1.2 1337 with a 5-bit prefix: as table size updates.
    for (const size of [0, 10, 30, 31, 32, 1337, 4096]) {
      const d = newDecoder();
      const block = encodeInteger(size, 5, 0x20);
      expect(d.decode(block, 0, block.length, [])).toEqual({ ok: true });
      expect(d.table.maxSize).toBe(size);
    }
    expect(encodeInteger(1337, 5, 0x20)).toEqual(Buffer.from([0x3f, 0x9a, 0x0a]));
    // Index 127 / 128 straddle the 7-bit prefix: both out of range for an empty dynamic table.
    for (const index of [126, 127, 128, 2 ** 20]) {
      const block = encodeInteger(index, 7, 0x80);
      const r = newDecoder().decode(block, 0, block.length, []);
      expect(r.ok).toBe(false);
    }
  });

  it('decodes long literals whose lengths need continuation bytes', () => {
    const value = 'v'.repeat(300);
    for (const isHuffman of [false, true]) {
      const block = encodeLiteral('x-long', value, isHuffman);
      const out: Fields = [];
      expect(newDecoder().decode(block, 0, block.length, out)).toEqual({ ok: true });
      expect(out).toEqual([['x-long', value]]);
    }
  });

  it('rejects an integer that overflows 2^31-1 or is cut short', () => {
    const huge = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    expect(newDecoder().decode(huge, 0, huge.length, []).ok).toBe(false);
    const truncated = Buffer.from([0xff, 0x80]);
    expect(newDecoder().decode(truncated, 0, truncated.length, []).ok).toBe(false);
  });
});

describe('HPACK errors are results', () => {
  const cases: Array<[string, Buffer]> = [
    ['index 0', Buffer.from([0x80])],
    ['index beyond static + dynamic', Buffer.from([0xbe])],
    ['literal with out-of-range name index', Buffer.from([0x7f, 0x20, 0x01, 0x61])],
    ['truncated string', Buffer.concat([Buffer.from([0x00]), encodeString('name').subarray(0, 3)])],
    ['missing value', Buffer.concat([Buffer.from([0x00]), encodeString('name')])],
    ['bad Huffman padding', Buffer.from([0x00, 0x81, 0x1e, 0x00])],
    ['Huffman EOS', Buffer.from([0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00])],
    ['size update after a field', Buffer.from([0x82, 0x20])],
    ['size update above SETTINGS_HEADER_TABLE_SIZE', encodeInteger(4097, 5, 0x20)],
  ];
  for (const [name, block] of cases) {
    it(name, () => {
      const d = newDecoder();
      const r = d.decode(block, 0, block.length, []);
      expect(r).toMatchObject({ ok: false, error: 'hpack' });
      // After an error the connection's HPACK state is unknown: everything fails.
      expect(d.decode(Buffer.from([0x82]), 0, 1, []).ok).toBe(false);
    });
  }

  it('a size update up to the advertised size is allowed, capped by maxTableBytes', () => {
    const d = newDecoder(1 << 20, 8192);
    d.setAllowedTableSize(65536);
    const ok = encodeInteger(8192, 5, 0x20);
    expect(d.decode(ok, 0, ok.length, [])).toEqual({ ok: true });
    const over = encodeInteger(8193, 5, 0x20);
    expect(d.decode(over, 0, over.length, []).ok).toBe(false);
  });

  it('evicts the oldest entries and empties the table for an entry larger than it', () => {
    const d = newDecoder();
    d.table.setMaxSize(100);
    const add = (n: string, v: string): void => {
      const block = Buffer.concat([Buffer.from([0x40]), encodeString(n), encodeString(v)]);
      expect(d.decode(block, 0, block.length, [])).toEqual({ ok: true });
    };
    add('a', '1'); // 34
    add('b', '2'); // 68
    add('c', '3'); // 102 > 100: 'a' evicted
    expect(d.table.entries()).toEqual([['c', '3'], ['b', '2']]);
    expect(d.table.size).toBe(68);
    add('big', 'x'.repeat(80)); // 115 > 100: table emptied, not added
    expect(d.table.entries()).toEqual([]);
    expect(d.table.size).toBe(0);
  });

  it('reports a decoded list over the limit as too-large', () => {
    const d = newDecoder(100);
    const block = Buffer.concat([encodeLiteral('a', 'x'.repeat(40)), encodeLiteral('b', 'y'.repeat(40))]);
    expect(d.decode(block, 0, block.length, [])).toMatchObject({ ok: false, error: 'too-large' });
  });

  it('keeps many dynamic entries through ring growth and eviction', () => {
    const d = newDecoder();
    const names: string[] = [];
    for (let i = 0; i < 500; i++) {
      const block = Buffer.concat([Buffer.from([0x40]), encodeString(`k${i}`), encodeString(`v${i}`)]);
      expect(d.decode(block, 0, block.length, [])).toEqual({ ok: true });
      names.push(`k${i}`);
    }
    // 4096 / (32 + ~8) entries fit; the newest is index 62.
    const out: Fields = [];
    expect(d.decode(Buffer.from([0xbe]), 0, 1, out)).toEqual({ ok: true });
    expect(out).toEqual([['k499', 'v499']]);
    expect(d.table.size).toBeLessThanOrEqual(4096);
    expect(d.table.entries().map(([n]) => n)).toEqual(names.slice(names.length - d.table.length).reverse());
  });
});
