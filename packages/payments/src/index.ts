export * from './schema.ts';
export * from './migrations.ts';
export * from './wallet.ts';
export * from './pay-for-order.ts';
export * from './roles.ts';
