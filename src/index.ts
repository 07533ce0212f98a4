// The public surface of Strata for library users: the embedded coordinator (library mode),
// the TCP client and server, the FileSystem interface they share, the error class and its
// codes, configuration and the types of every call. Everything else is internal.

export { Coordinator } from './coordinator/coordinator.js';
export type { CoordinatorOptions } from './coordinator/coordinator.js';
export { StrataClient } from './client/tcp-client.js';
export { StrataServer } from './server/tcp-server.js';
export { PROTOCOL_VERSION, DEFAULT_PORT } from './protocol/messages.js';
export type { FileSystem, DataSource } from './fs.js';
export { StrataError, ErrorCode, isErrorCode } from './errors.js';
export { ServerConfig, KEYS as CONFIG_KEYS, PRESETS, presetProperties } from './config/keys.js';
export { parseDuration, parseSize } from './config/units.js';
export type { Ufs, UfsStatus, UfsFactory } from './ufs/ufs.js';
export * from './types.js';
// The POSIX mount (FUSE) of any FileSystem; the binding loads only when a mount is made.
export { mountStrata } from './fuse/mount.js';
export type { FuseMountRequest, StrataFuseMount } from './fuse/mount.js';
