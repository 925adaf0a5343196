// A TCP proxy on 127.0.0.1 that delays every chunk by `delayMs` in each direction (so a request
// and its answer cost at least 2 x delayMs more, as over a slow link) and counts what passes:
// accepted connections, HTTP/1.x request lines (client to server), bytes each way.
import net from 'node:net';

export interface ProxyStats {
  connections: number;
  requests: number;
  bytesUp: number;
  bytesDown: number;
  /** Requests per path prefix, e.g. `GET /v2/<gun>/_trust/tuf/timestamp.json`. */
  paths: string[];
}

export interface LatencyProxy {
  url: string;
  port: number;
  /** Counters since the last reset. */
  stats(): ProxyStats;
  reset(): void;
  close(): Promise<void>;
}

const REQUEST_LINE = /^(GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS) (\S+) HTTP\/1\.[01]$/;

function emptyStats(): ProxyStats {
  return { connections: 0, requests: 0, bytesUp: 0, bytesDown: 0, paths: [] };
}

/**
 * `noDelay` (default true) turns Nagle off on the proxy's own sockets, so that the proxy, which
 * forwards each chunk as it was received, adds no delayed-ACK stalls of its own.
 */
export function startLatencyProxy(upstreamPort: number, delayMs: number, noDelay = true): Promise<LatencyProxy> {
  let stats = emptyStats();
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, delayMs);
    timers.add(t);
  };

  /** Chunks of `from` reach `to` delayMs later, in order (timers of one duration fire in order). */
  const pipeDelayed = (from: net.Socket, to: net.Socket, onChunk: (c: Buffer) => void): void => {
    from.on('data', (c: Buffer) => {
      onChunk(c);
      later(() => {
        if (!to.destroyed) to.write(c);
      });
    });
    from.on('end', () => later(() => to.end()));
  };

  // Half-open allowed: each direction's end is forwarded (delayed) on its own.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    stats.connections++;
    const upstream = net.connect({ host: '127.0.0.1', port: upstreamPort, allowHalfOpen: true });
    client.setNoDelay(noDelay);
    upstream.setNoDelay(noDelay);
    sockets.add(client);
    sockets.add(upstream);
    let line = '';
    pipeDelayed(client, upstream, (c) => {
      stats.bytesUp += c.length;
      // Request lines: complete lines only (a line may span chunks). Request bodies of the
      // commands measured here (GETs) are empty; a body line that looks like a request line
      // would be miscounted.
      const text = line + c.toString('latin1');
      const lines = text.split('\r\n');
      line = lines.pop()!.slice(-4096);
      for (const l of lines) {
        const m = REQUEST_LINE.exec(l);
        if (m) {
          stats.requests++;
          stats.paths.push(`${m[1]} ${m[2]}`);
        }
      }
    });
    pipeDelayed(upstream, client, (c) => {
      stats.bytesDown += c.length;
    });
    const done = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', done);
    upstream.on('error', done);
    // A side that closes has sent its 'end' (forwarded above, delayed); only errors cut both.
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      if (addr === null || typeof addr === 'string') {
        reject(new Error('proxy: no address'));
        return;
      }
      resolve({
        url: `http://127.0.0.1:${addr.port}`,
        port: addr.port,
        stats: () => ({ ...stats, paths: [...stats.paths] }),
        reset: () => {
          stats = emptyStats();
        },
        close: () =>
          new Promise<void>((res) => {
            for (const t of timers) clearTimeout(t);
            timers.clear();
            for (const s of sockets) s.destroy();
            sockets.clear();
            server.close(() => res());
          }),
      });
    });
  });
}
