export * from './http-error.ts';
export * from './json-body.ts';
export * from './serve.ts';
export * from './health.ts';
export * from './api-service.ts';
export * from './idempotency.ts';
export * from './request-fields.ts';
export * from './request-id.ts';
