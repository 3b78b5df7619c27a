# One recipe for every Node deployable; the SERVICE build argument picks which
# one the image runs (orders-api, orders-relay, payments-api, payments-worker).
# There is no compile step: Node 24 runs the TypeScript directly, so the image
# runs exactly the command that `npm run stack` and the tests run.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
# The DLQ tool is an operator's, run from a checkout (npm run dlq): no service
# loads it (packages/dlq/test/unit/not-in-services.test.ts), so no image holds it.
RUN rm -rf packages/dlq node_modules/@gozon/dlq

FROM node:24-bookworm-slim
ARG SERVICE
ENV NODE_ENV=production SERVICE=${SERVICE}
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages ./packages
COPY --from=build /app/${SERVICE} ./${SERVICE}
USER node
CMD ["sh", "-c", "exec node \"$SERVICE/src/main.ts\""]
