// The key store layer: stores behind one interface, passphrase sources, Signers.
export * from './errors.js';
export * from './names.js';
export * from './types.js';
export * from './passphrase.js';
export * from './signer.js';
export * from './filestore.js';
export * from './memory.js';
export * from './service.js';
export * from './importexport.js';
export { writeFileAtomic, type FaultHook } from './atomic.js';
