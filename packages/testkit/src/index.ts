export * from './databases.ts';
export * from './broker.ts';
export * from './processes.ts';
export * from './wait.ts';
export * from './flow.ts';
export * from './stack.ts';
export * from './dockerfile.ts';
export * from './invariants.ts';
