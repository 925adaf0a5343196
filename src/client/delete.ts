// `delete` (cli.md §9.11): with a server connection, the server's trust data goes first; the
// local metadata and staged changes go only once the server confirmed (cli.md §12 #9). Keys stay.

import type { NotaryRemote } from '../remote/notary.js';
import type { MetadataCache } from '../storage/cache.js';

export async function deleteTrustData(cache: MetadataCache, remote?: NotaryRemote): Promise<void> {
  if (remote) await remote.deleteRepo();
  await cache.removeAll();
}
