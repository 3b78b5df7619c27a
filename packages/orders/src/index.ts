export * from './schema.ts';
export * from './migrations.ts';
export * from './place-order.ts';
export * from './find-orders.ts';
export * from './apply-payment-result.ts';
export * from './description.ts';
export * from './order-changes.ts';
export * from './roles.ts';
