export * from './messages.ts';
export * from './topology.ts';
export * from './user-id.ts';
