// The syntax check Go's encoding/json runs before decoding (its scanner), reimplemented so that a
// broken config file gets the same message notary prints, e.g.
//   invalid character 'b' looking for beginning of object key string
//   unexpected end of JSON input
// plus the byte offset, line and column (which notary does not give) for the hint.

export interface GoJsonSyntaxError {
  message: string;
  /** Byte offset of the offending byte (input length for an unexpected end). */
  offset: number;
  line: number;
  column: number;
}

const MAX_DEPTH = 10000;

type Ctx = 'key' | 'value' | 'array';

/** Go's quoteChar: the byte as a one-rune Go character literal. */
export function goQuoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  return `'${goQuoteRune(c)}'`;
}

function goQuoteRune(c: number): string {
  switch (c) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
    case 0x5c:
      return '\\\\';
  }
  if (c < 0x20 || c === 0x7f) return '\\x' + c.toString(16).padStart(2, '0');
  // A byte >= 0x80 is converted to the rune of the same value (Latin-1); Go prints the
  // printable ones as they are and escapes the rest (C1 controls, NBSP, soft hyphen).
  if ((c >= 0x80 && c <= 0xa0) || c === 0xad) return '\\u' + c.toString(16).padStart(4, '0');
  return String.fromCharCode(c);
}

function position(b: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < b.length; i++) {
    if (b[i] === 0x0a) {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  return { line, column: col };
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/**
 * undefined when `b` is valid JSON for Go; otherwise Go's message and where. One piece on purpose:
 * a single-pass scanner whose states share the position and the stack, as Go's scanner does.
 */
export function goJsonSyntaxError(b: Uint8Array): GoJsonSyntaxError | undefined {
  const stack: Ctx[] = [];
  let i = 0;
  const fail = (msg: string, at: number): GoJsonSyntaxError => ({ message: msg, offset: at, ...position(b, at) });
  const invalid = (at: number, context: string): GoJsonSyntaxError =>
    fail(`invalid character ${goQuoteChar(b[at]!)} ${context}`, at);
  const eof = (): GoJsonSyntaxError => fail('unexpected end of JSON input', b.length);
  // At the end Go feeds the scanner one space: states that refuse a space report it.
  const eofIn = (context: string): GoJsonSyntaxError => fail(`invalid character ' ' ${context}`, b.length);
  const skip = (): void => {
    while (i < b.length && isSpace(b[i]!)) i++;
  };

  // Parses one value starting at i (whitespace already skipped); returns an error or undefined.
  // Iterative over containers to honour Go's depth limit without recursion limits.
  const literal = (word: string): GoJsonSyntaxError | undefined => {
    for (let k = 1; k < word.length; k++) {
      if (i + k >= b.length) return eofIn(`in literal ${word} (expecting '${word[k]}')`);
      if (b[i + k] !== word.charCodeAt(k)) {
        return invalid(i + k, `in literal ${word} (expecting '${word[k]}')`);
      }
    }
    i += word.length;
    return undefined;
  };

  const string = (): GoJsonSyntaxError | undefined => {
    i++; // opening quote
    for (;;) {
      if (i >= b.length) return eof();
      const c = b[i]!;
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c === 0x5c) {
        i++;
        if (i >= b.length) return eofIn('in string escape code');
        const e = b[i]!;
        if (e === 0x75) {
          for (let k = 1; k <= 4; k++) {
            if (i + k >= b.length) return eofIn('in \\u hexadecimal character escape');
            if (!isHex(b[i + k]!)) return invalid(i + k, 'in \\u hexadecimal character escape');
          }
          i += 5;
          continue;
        }
        if ('bfnrt\\/"'.includes(String.fromCharCode(e))) {
          i++;
          continue;
        }
        return invalid(i, 'in string escape code');
      }
      if (c < 0x20) return invalid(i, 'in string literal');
      i++;
    }
  };

  const number = (): GoJsonSyntaxError | undefined => {
    if (b[i] === 0x2d) {
      i++;
      if (i >= b.length) return eofIn('in numeric literal');
      if (!isDigit(b[i]!)) return invalid(i, 'in numeric literal');
    }
    if (b[i] === 0x30) i++;
    else while (i < b.length && isDigit(b[i]!)) i++;
    if (i < b.length && b[i] === 0x2e) {
      i++;
      if (i >= b.length) return eofIn('after decimal point in numeric literal');
      if (!isDigit(b[i]!)) return invalid(i, 'after decimal point in numeric literal');
      while (i < b.length && isDigit(b[i]!)) i++;
    }
    if (i < b.length && (b[i] === 0x65 || b[i] === 0x45)) {
      i++;
      if (i < b.length && (b[i] === 0x2b || b[i] === 0x2d)) i++;
      if (i >= b.length) return eofIn('in exponent of numeric literal');
      if (!isDigit(b[i]!)) return invalid(i, 'in exponent of numeric literal');
      while (i < b.length && isDigit(b[i]!)) i++;
    }
    return undefined;
  };

  // State machine over "expect a value" / "after a value".
  let expectValue = true;
  skip();
  for (;;) {
    if (expectValue) {
      skip();
      if (i >= b.length) return eof();
      const c = b[i]!;
      let err: GoJsonSyntaxError | undefined;
      if (c === 0x7b) {
        if (stack.length >= MAX_DEPTH) return invalid(i, 'exceeded max depth');
        i++;
        skip();
        if (i >= b.length) return eof();
        if (b[i] === 0x7d) {
          i++;
          expectValue = false;
          continue;
        }
        if (b[i] !== 0x22) return invalid(i, 'looking for beginning of object key string');
        stack.push('key');
        err = string();
        if (err) return err;
        expectValue = false;
        continue;
      }
      if (c === 0x5b) {
        if (stack.length >= MAX_DEPTH) return invalid(i, 'exceeded max depth');
        i++;
        skip();
        if (i >= b.length) return eof();
        if (b[i] === 0x5d) {
          i++;
          expectValue = false;
          continue;
        }
        stack.push('array');
        continue; // expect a value
      }
      if (c === 0x22) err = string();
      else if (c === 0x2d || isDigit(c)) err = number();
      else if (c === 0x74) err = literal('true');
      else if (c === 0x66) err = literal('false');
      else if (c === 0x6e) err = literal('null');
      else return invalid(i, 'looking for beginning of value');
      if (err) return err;
      expectValue = false;
      continue;
    }
    // After a value (or an object key).
    skip();
    const top = stack[stack.length - 1];
    if (top === undefined) {
      if (i >= b.length) return undefined;
      return invalid(i, 'after top-level value');
    }
    if (i >= b.length) return eof();
    const c = b[i]!;
    if (top === 'key') {
      if (c !== 0x3a) return invalid(i, 'after object key');
      i++;
      stack[stack.length - 1] = 'value';
      expectValue = true;
      continue;
    }
    if (top === 'value') {
      if (c === 0x2c) {
        i++;
        skip();
        if (i >= b.length) return eof();
        if (b[i] !== 0x22) return invalid(i, 'looking for beginning of object key string');
        stack[stack.length - 1] = 'key';
        const err = string();
        if (err) return err;
        continue;
      }
      if (c === 0x7d) {
        i++;
        stack.pop();
        continue;
      }
      return invalid(i, 'after object key:value pair');
    }
    // array
    if (c === 0x2c) {
      i++;
      expectValue = true;
      continue;
    }
    if (c === 0x5d) {
      i++;
      stack.pop();
      continue;
    }
    return invalid(i, 'after array element');
  }
}
