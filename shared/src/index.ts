export * from './errors.js';
export * from './broadcast.js';
export * from './protocol.js';
export * from './api.js';
export * from './presets.js';
export * from './events.js';
export * from './cameras.js';
