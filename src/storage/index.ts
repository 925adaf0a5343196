// The storage layer: metadata cache and changelist on disk, atomic private writes, per-GUN locks.
export * from './errors.js';
export * from './atomic.js';
export * from './paths.js';
export * from './cache.js';
export * from './changelist.js';
export * from './lock.js';
