export * from './messages.ts';
export * from './topology.ts';
