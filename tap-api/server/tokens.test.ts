import { describe, expect, it } from 'vitest';
import { parseTokenFile } from './tokens.js';

describe('static token file (kube-apiserver --token-auth-file format)', () => {
  it('reads token,user,uid,"groups" with CSV quoting, CRLF and blank lines', () => {
    const auth = parseTokenFile('t1,alice,1001,"dev,ops"\r\n\nt2,bob,1002\nt3,"carol ""c""",1003,viewers,extra-column\n');
    expect(auth.size).toBe(3);
    expect(auth.authenticate('t1')).toEqual({ name: 'alice', uid: '1001', groups: ['dev', 'ops'] });
    expect(auth.authenticate('t2')).toEqual({ name: 'bob', uid: '1002', groups: [] });
    expect(auth.authenticate('t3')).toEqual({ name: 'carol "c"', uid: '1003', groups: ['viewers'] });
  });

  it('does not authenticate unknown tokens, prefixes or the empty token', () => {
    const auth = parseTokenFile('secret-token,alice,1\n');
    expect(auth.authenticate('nope')).toBeUndefined();
    expect(auth.authenticate('secret')).toBeUndefined();
    expect(auth.authenticate('secret-token-and-more')).toBeUndefined();
    expect(auth.authenticate('')).toBeUndefined();
  });

  it.each([
    ['too few columns', 'tok,alice\n', /tokens.csv:1: need at least token,user,uid/],
    ['empty user', 'tok,,1\n', /tokens.csv:1: token and user must not be empty/],
    ['duplicate token', 'a,x,1\nb,y,2\na,z,3\n', /tokens.csv:3: duplicate token/],
    ['unterminated quote', 'a,x,1,"g1\n', /tokens.csv:1: unterminated quoted field/],
    ['stray quote', 'a,x"y,1\n', /tokens.csv:1: stray/],
  ])('refuses a bad file (%s) naming the line', (_n, text, re) => {
    expect(() => parseTokenFile(text, 'tokens.csv')).toThrow(re);
  });
});
