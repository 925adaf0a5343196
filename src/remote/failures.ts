// What a failed HTTP attempt means: node's connection, TLS, timeout and parse errors become
// RemoteErrors with messages and hints, and whether a GET may be retried after them. TLS failures
// are TLS errors, never "offline"; a write whose bytes left without an answer has an unknown
// outcome and is never retried.

import { MESSAGES, RemoteError } from './errors.js';

/** What is known of the request that failed. */
export interface Attempted {
  method: string;
  /** What is fetched or sent, for messages. */
  resource: string;
}

const OFFLINE_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'temporary failure in name resolution',
  EAI_FAIL: 'name resolution failed',
  EAI_NONAME: 'no such host',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network is unreachable',
  ENETDOWN: 'network is down',
  EHOSTDOWN: 'host is down',
  EADDRNOTAVAIL: 'cannot assign requested address',
};

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);

// OpenSSL verification results as node reports them.
const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function isTlsError(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? '';
  return TLS_VERIFY_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO';
}

function tlsHint(err: NodeJS.ErrnoException): string {
  const code = err.code ?? '';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') {
    return 'the server certificate is not valid for this host name; use the name the certificate was issued for';
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return 'the server certificate is expired or not yet valid; check the server certificate and this machine\'s clock';
  }
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST/.test(code) || /wrong version number/i.test(err.message)) {
    return 'the server does not seem to speak TLS; check http:// versus https:// in the server URL';
  }
  if (/CERTIFICATE_REQUIRED|ALERT_HANDSHAKE_FAILURE|ALERT_BAD_CERTIFICATE|ALERT_UNKNOWN_CA/.test(code)) {
    return 'the server refused the handshake; it may require a client certificate (--tlscert and --tlskey)';
  }
  return 'if the server uses a private CA, pass it with --tlscacert (remote_server.root_ca)';
}

/** An attempt's failure, with whether a GET may be retried after it. */
export class Failure {
  constructor(
    readonly error: RemoteError,
    readonly retryable: boolean,
  ) {}
}

/** Where an attempt was when it failed: decides what the failure means. */
export type Phase = 'connect' | 'tls' | 'send' | 'wait' | 'body';

/** The error a request is destroyed with when one of its deadlines passes. */
export class TimeoutSignal extends Error {
  constructor(
    readonly kind: 'connect' | 'idle' | 'total',
    readonly ms: number,
  ) {
    super(`${kind} timeout`);
  }
}

/** A success body above its cap (SEC-V10). */
export function tooLarge(spec: Attempted, url: string, status: number | undefined, detail: string): RemoteError {
  return new RemoteError('BAD_RESPONSE', MESSAGES.badResponse, {
    url,
    ...(status !== undefined ? { status } : {}),
    resource: spec.resource,
    hint: `the server sent more than dtrust accepts for ${spec.resource} (${detail}); the server may be broken or hostile`,
  });
}

/**
 * What a failed attempt means: a RemoteError (TIMEOUT, TLS, OFFLINE, BAD_RESPONSE or, for a write
 * whose bytes left and got no answer, UNKNOWN_OUTCOME), and whether a GET may be retried.
 * `bytesWritten`: what reached the socket during this attempt.
 */
export function classify(spec: Attempted, err: Error, phase: Phase, status: number | undefined, url: string, bytesWritten: number): Failure {
  const e = err as NodeJS.ErrnoException;
  const fields = { url, resource: spec.resource, ...(status !== undefined ? { status } : {}) };
  const write = spec.method !== 'GET';
  // A non-idempotent request whose bytes (some or all) reached the socket and got no status.
  const outcomeUnknown = write && status === undefined && (phase === 'wait' || (phase === 'send' && bytesWritten > 0));

  if (err instanceof TimeoutSignal) {
    const detail =
      err.kind === 'connect'
        ? `could not connect within ${err.ms} ms`
        : err.kind === 'idle'
          ? `no data for ${err.ms} ms`
          : `not complete after ${err.ms} ms`;
    if (outcomeUnknown) return new Failure(unknownOutcome(spec, url, `timed out waiting for the answer (${detail})`, err), false);
    const verb = write ? `sending ${spec.resource} to` : `fetching ${spec.resource} from`;
    return new Failure(
      new RemoteError('TIMEOUT', `timed out ${verb} ${url}: ${detail}`, {
        ...fields,
        hint:
          err.kind === 'connect'
            ? 'the server did not accept the connection in time; check the server URL and the network'
            : 'the server is too slow; try again later (timeouts are configurable)',
      }, err),
      false,
    );
  }
  const code = e.code ?? '';
  if (isTlsError(e) || ((phase === 'tls') && RESET_CODES.has(code))) {
    const reason = phase === 'tls' && RESET_CODES.has(code) ? 'the server closed the connection during the TLS handshake' : `${e.message}${code && !e.message.includes(code) ? ` (${code})` : ''}`;
    return new Failure(
      new RemoteError('TLS', `could not establish a secure connection to ${url}: ${reason}`, { ...fields, hint: tlsHint(e) }, err),
      false,
    );
  }
  const offline = OFFLINE_CODES[code];
  if (offline !== undefined) {
    return new Failure(new RemoteError('OFFLINE', `could not reach ${url}: ${offline}`, fields, err), false);
  }
  if (code === 'ETIMEDOUT') {
    if (outcomeUnknown) return new Failure(unknownOutcome(spec, url, 'the connection timed out', err), false);
    return new Failure(new RemoteError('TIMEOUT', `timed out ${write ? 'sending' : 'fetching'} ${spec.resource}: ${url}: connection timed out`, fields, err), false);
  }
  if (RESET_CODES.has(code) || code === '' || code === 'ERR_HTTP_INVALID_HEADER_VALUE' || code.startsWith('HPE_')) {
    const parseProblem = code.startsWith('HPE_');
    if (outcomeUnknown) return new Failure(unknownOutcome(spec, url, 'the connection was lost before the answer arrived', err), false);
    if (phase === 'body' || parseProblem) {
      return new Failure(
        new RemoteError(
          'BAD_RESPONSE',
          parseProblem ? `${MESSAGES.badResponse.slice(0, -1)}: not valid HTTP (${code})` : `${MESSAGES.badResponse.slice(0, -1)}: the connection closed before the whole body arrived`,
          { ...fields, hint: 'try again; if it keeps happening, the server or a proxy in between is broken' },
          err,
        ),
        !parseProblem,
      );
    }
    return new Failure(
      new RemoteError('OFFLINE', `could not reach ${url}: connection reset (${e.message})`, fields, err),
      true,
    );
  }
  return new Failure(new RemoteError('OFFLINE', `could not reach ${url}: ${e.message}`, fields, err), false);
}

function unknownOutcome(spec: Attempted, url: string, why: string, cause: unknown): RemoteError {
  return new RemoteError(
    'UNKNOWN_OUTCOME',
    `${spec.method} ${spec.resource} at ${url}: ${why}; the server may or may not have applied it`,
    {
      url,
      resource: spec.resource,
      hint: 'run the same command again: it re-reads the server state and is safe to repeat',
    },
    cause,
  );
}
