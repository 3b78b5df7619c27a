export * from './preview.ts';
export * from './dead-letter-queues.ts';
export * from './describe-dead-letter.ts';
export * from './take-dead-letters.ts';
export * from './list-dead-letters.ts';
export * from './replay-dead-letters.ts';
export * from './drop-dead-letters.ts';
export * from './set-aside-outbox.ts';
export { runDlq } from './cli/main.ts';
