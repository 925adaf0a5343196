// The configuration layer: flags + config file + environment -> one typed Config.
export * from './errors.js';
export * from './config.js';
export { goJsonSyntaxError, type GoJsonSyntaxError } from './gojson.js';
export { formatDuration, parseDuration } from './duration.js';
