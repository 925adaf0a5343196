// Server URL validation (cli.md §7.1) and building request paths for a GUN (SEC-F4: each path
// segment is percent-escaped; names that could change the path's meaning are refused).

import { RemoteError, sanitize } from './errors.js';

export interface ServerUrl {
  /** The parsed URL (WHATWG), user info removed. */
  url: URL;
  /** `http:` or `https:`. */
  protocol: 'http:' | 'https:';
  /** Host name for sockets (IPv6 without brackets). */
  hostname: string;
  port: number;
  /** `host[:port]` as notary prints it (`127.0.0.1:4471`). */
  host: string;
  /** Path prefix without a trailing slash ('' for none), kept in front of `/v2/…`. */
  prefix: string;
  /** The server URL for messages: origin + prefix, no user info. */
  display: string;
}

/** Removes `user:password@` from something that looks like a URL, for messages. */
export function redactUrl(raw: string): string {
  return raw.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, '$1');
}

function parseError(raw: string, reason: string): RemoteError {
  const shown = sanitize(redactUrl(raw));
  return new RemoteError(
    'CONFIG',
    `Could not parse remote trust server url (${shown}): parse ${JSON.stringify(shown)}: ${reason}`,
    { url: shown, hint: 'pass the server as -s https://HOST:PORT (or set remote_server.url)' },
  );
}

function formError(raw: string): RemoteError {
  const shown = sanitize(redactUrl(raw));
  return new RemoteError('CONFIG', `Trust server url has to be in the form of http(s)://URL:PORT. Got: ${shown}`, {
    url: shown,
    hint: 'pass the server as -s https://HOST:PORT (or set remote_server.url)',
  });
}

/**
 * Validates a trust server URL with notary's messages. Go's url.Parse decides what is a scheme:
 * `127.0.0.1:4471` fails ("first path segment in URL cannot contain colon"), `localhost` has no
 * scheme. dtrust additionally requires http or https (notary would accept `localhost:4443` as a
 * URL with scheme `localhost` and then fail every request) and refuses a query or fragment
 * (notary pastes `/v2/...` after them).
 */
export function parseServerUrl(raw: string): ServerUrl {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw parseError(raw, 'net/url: invalid control character in URL');
  // Go's getScheme.
  let scheme = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+.-]/.test(c)) {
      if (i === 0) break;
      continue;
    }
    if (c === ':') {
      if (i === 0) throw parseError(raw, 'missing protocol scheme');
      scheme = raw.slice(0, i);
    }
    break;
  }
  if (scheme === '') {
    const firstSegment = raw.split('/', 1)[0] ?? '';
    if (!raw.startsWith('/') && firstSegment.includes(':')) {
      throw parseError(raw, 'first path segment in URL cannot contain colon');
    }
    throw formError(raw);
  }
  const lower = scheme.toLowerCase();
  if (lower !== 'http' && lower !== 'https') throw formError(raw);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw parseError(raw, 'invalid URL');
  }
  if (url.hostname === '') throw formError(raw);
  if (url.search !== '' || url.hash !== '' || raw.includes('?') || raw.includes('#')) {
    const shown = sanitize(redactUrl(raw));
    throw new RemoteError('CONFIG', `Trust server url must not have a query or a fragment. Got: ${shown}`, {
      url: shown,
      hint: 'pass the server as -s https://HOST:PORT[/PATH]',
    });
  }
  url.username = '';
  url.password = '';
  const protocol = url.protocol === 'https:' ? 'https:' : 'http:';
  const port = url.port !== '' ? Number(url.port) : protocol === 'https:' ? 443 : 80;
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const prefix = url.pathname.replace(/\/+$/, '');
  return {
    url,
    protocol,
    hostname,
    port,
    host: url.host,
    prefix,
    display: `${url.origin}${prefix}`,
  };
}

// Go's url.PathEscape-like set for path segments (shouldEscape with encodePath, minus '/').
const SEGMENT_SAFE = /^[A-Za-z0-9\-_.~$&+,:;=@]$/;

/** Percent-escapes one path segment the way Go escapes a URL path (UTF-8, upper-case hex). */
export function escapeSegment(segment: string): string {
  let out = '';
  for (const ch of segment) {
    if (SEGMENT_SAFE.test(ch)) {
      out += ch;
      continue;
    }
    for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// eslint-disable-next-line no-control-regex
const BAD_CHARS = /[\u0000-\u001f\u007f\\]/;

function checkSegments(value: string, what: 'GUN' | 'role', url: string): string[] {
  const segments = value.split('/');
  const bad = (why: string): RemoteError =>
    new RemoteError('CONFIG', `invalid ${what} ${JSON.stringify(sanitize(value, 300))}: ${why}`, { url });
  if (value === '') throw bad('it is empty');
  if (BAD_CHARS.test(value)) throw bad('it contains a control character or a backslash');
  for (const s of segments) {
    if (s === '') throw bad('it has an empty path segment');
    if (s === '.' || s === '..') throw bad(`it has a "${s}" path segment`);
  }
  return segments;
}

/** Checks a GUN for use in a URL and returns its escaped form (`/` kept between segments). */
export function escapeGun(gun: string, url: string): string {
  if (gun.length > 255) {
    throw new RemoteError('CONFIG', `invalid GUN ${JSON.stringify(sanitize(gun, 60))}: longer than 255 characters`, { url });
  }
  // notary-server routes `<gun>` as `[^*]+`: a '*' can never reach the repository.
  if (gun.includes('*')) throw new RemoteError('CONFIG', `invalid GUN ${JSON.stringify(sanitize(gun, 300))}: it contains "*"`, { url });
  return checkSegments(gun, 'GUN', url).map(escapeSegment).join('/');
}

/** Checks a metadata or key name (`root`, `targets/releases.<hex>`, `3.root`) and escapes it. */
export function escapeName(name: string, url: string): string {
  return checkSegments(name, 'role', url).map(escapeSegment).join('/');
}
