// full-openapi.yaml as an executable contract: every exchange (request and
// response) sent through the gateway is checked against the spec with ajv
// (JSON Schema 2020-12, the dialect of OpenAPI 3.1), and what the checked
// exchanges covered is counted, so a test can fail on an operation or a
// documented status that nothing produced.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

export const SPEC_FILE = resolve(import.meta.dirname, '../../full-openapi.yaml');
/** The gateway's CORS_ORIGIN as the stack runs it (scripts/stack/settings.ts' default). */
export const UI_ORIGIN = 'http://localhost:3000';

const SPEC_ID = 'https://gozon.test/full-openapi.yaml';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/** Top-level keys of an OpenAPI document: known to ajv, so strict mode accepts the whole spec as one schema resource. */
const OPENAPI_KEYWORDS = [
  'openapi',
  'info',
  'jsonSchemaDialect',
  'servers',
  'paths',
  'webhooks',
  'components',
  'security',
  'tags',
  'externalDocs',
];
/** Headers the contract gives a meaning to: present on a response that does not document them is a violation. */
const CONTRACT_HEADERS = [
  'allow',
  'idempotent-replayed',
  'retry-after',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-max-age',
];

// ajv-formats is CommonJS with `exports.default`; under NodeNext TypeScript types the default import as the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

type Node = any;

export interface Exchange {
  method: string;
  /** As sent: percent-encoded, with the query if any. */
  path: string;
  requestHeaders: Record<string, string>;
  requestBody?: string;
  status: number;
  headers: Headers;
  text: string;
}

export interface Operation {
  /** "POST /orders/create/{user_id}" */
  key: string;
  template: string;
  method: string;
  statuses: string[];
}

interface PathEntry {
  template: string;
  regex: RegExp;
  names: string[];
  item: Node;
  pointer: string;
}

const escapePointer = (part: string) => part.replaceAll('~', '~0').replaceAll('/', '~1');
const unescapePointer = (part: string) => part.replaceAll('~1', '/').replaceAll('~0', '~');

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export class Contract {
  readonly spec: Node;
  readonly source: string;
  readonly operations: Operation[] = [];
  private readonly ajv: Ajv2020;
  private readonly paths: PathEntry[] = [];
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly exercised = new Map<string, Set<string>>();

  static load(file = SPEC_FILE): Contract {
    return new Contract(readFileSync(file, 'utf8'));
  }

  constructor(source: string) {
    this.source = source;
    this.spec = parse(source);
    // multipleOf: 0.01 on amounts needs a tolerance in binary floating point (350.6 / 0.01 = 35059.99999999999).
    this.ajv = new Ajv2020({ allErrors: true, strict: true, multipleOfPrecision: 6 });
    addFormats(this.ajv);
    this.ajv.addVocabulary(OPENAPI_KEYWORDS);
    this.ajv.addSchema({ ...this.spec, $id: SPEC_ID });

    for (const [template, item] of Object.entries<Node>(this.spec.paths)) {
      const names: string[] = [];
      const pattern = template
        .split('/')
        .map((part) => {
          const param = /^\{(.+)\}$/.exec(part);
          if (param) {
            names.push(param[1]!);
            return '([^/]+)';
          }
          return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        })
        .join('/');
      this.paths.push({
        template,
        regex: new RegExp(`^${pattern}$`),
        names,
        item,
        pointer: `/paths/${escapePointer(template)}`,
      });
      for (const method of HTTP_METHODS) {
        if (!item[method]) continue;
        this.operations.push({
          key: `${method.toUpperCase()} ${template}`,
          template,
          method,
          statuses: Object.keys(item[method].responses),
        });
      }
    }
    // A literal path wins over a template that would also match it.
    this.paths.sort((a, b) => a.names.length - b.names.length);
  }

  /** Follows local $refs; returns the node and the JSON pointer where it lives. */
  deref(node: Node, pointer: string): { node: Node; pointer: string } {
    const seen = new Set<string>();
    while (node && typeof node === 'object' && typeof node.$ref === 'string') {
      const ref: string = node.$ref;
      if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported: ${ref}`);
      if (seen.has(ref)) throw new Error(`$ref cycle at ${ref}`);
      seen.add(ref);
      pointer = ref.slice(1);
      node = this.at(pointer);
    }
    return { node, pointer };
  }

  at(pointer: string): Node {
    let node = this.spec;
    for (const part of pointer.split('/').slice(1)) {
      node = node?.[unescapePointer(part)];
    }
    if (node === undefined) throw new Error(`nothing at #${pointer} in the spec`);
    return node;
  }

  /** The compiled schema found at a JSON pointer into the spec (its $refs resolve inside the spec). */
  validator(pointer: string): ValidateFunction {
    let validate = this.validators.get(pointer);
    if (!validate) {
      const fragment = pointer
        .split('/')
        .map((part) => encodeURIComponent(part))
        .join('/');
      validate = this.ajv.getSchema(`${SPEC_ID}#${fragment}`);
      if (!validate) throw new Error(`no schema at #${pointer}`);
      this.validators.set(pointer, validate);
    }
    return validate;
  }

  /** Problems of a value against the schema at a pointer; [] when it conforms. */
  validate(pointer: string, value: unknown): string[] {
    const validate = this.validator(pointer);
    if (validate(value)) return [];
    return (validate.errors ?? []).map(
      (e) =>
        `${e.instancePath || '(root)'} ${e.message}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`,
    );
  }

  match(pathname: string): { entry: PathEntry; params: Record<string, string> } | undefined {
    for (const entry of this.paths) {
      const found = entry.regex.exec(pathname);
      if (!found) continue;
      const params: Record<string, string> = {};
      entry.names.forEach((name, i) => (params[name] = found[i + 1]!));
      return { entry, params };
    }
    return undefined;
  }

  /** Every problem of one exchange with the contract; [] when it conforms. Also counts coverage. */
  check(exchange: Exchange): string[] {
    const problems: string[] = [];
    const method = exchange.method.toLowerCase();
    const url = new URL(exchange.path, 'http://gateway.invalid');
    const label = `${exchange.method} ${exchange.path} → ${exchange.status}`;
    const fail = (message: string) => problems.push(`${label}: ${message}`);
    const found = this.match(url.pathname);

    let responseNode: Node;
    let responsePointer: string;
    if (!found) {
      // Outside the paths of the spec only two answers are documented (see info.description).
      const answer = { 404: 'NotFound', 400: 'MalformedRequest' }[exchange.status];
      if (!answer) {
        fail('the path matches no path of the spec, so the answer must be 404 NOT_FOUND (or 400 MALFORMED_REQUEST)');
        return problems;
      }
      ({ node: responseNode, pointer: responsePointer } = this.deref({ $ref: `#/components/responses/${answer}` }, ''));
    } else {
      const { entry, params } = found;
      const operation = entry.item[method];
      if (!operation) {
        fail(`${exchange.method} is not an operation of ${entry.template} in the spec`);
        return problems;
      }
      const key = `${method.toUpperCase()} ${entry.template}`;
      const statuses = this.exercised.get(key) ?? new Set<string>();
      this.exercised.set(key, statuses);
      const status = String(exchange.status);
      const documented =
        operation.responses[status] !== undefined
          ? status
          : operation.responses.default !== undefined
            ? 'default'
            : undefined;
      if (documented === undefined) {
        fail(
          `status ${status} is not documented for ${key} (documented: ${Object.keys(operation.responses).join(', ')}); body: ${snippet(exchange.text)}`,
        );
        return problems;
      }
      statuses.add(documented);
      ({ node: responseNode, pointer: responsePointer } = this.deref(
        operation.responses[documented],
        `${entry.pointer}/${method}/responses/${documented}`,
      ));
      problems.push(...this.checkParameters(exchange, label, entry, operation, params, url));
      problems.push(...this.checkRequestBody(exchange, label, entry, operation));
    }

    problems.push(...this.checkHeaders(exchange, label, responseNode, responsePointer));
    problems.push(...this.checkBody(exchange, label, method, responseNode, responsePointer));
    return problems;
  }

  private checkParameters(
    exchange: Exchange,
    label: string,
    entry: PathEntry,
    operation: Node,
    params: Record<string, string>,
    url: URL,
  ): string[] {
    const problems: string[] = [];
    const declared = new Map<string, { node: Node; pointer: string }>();
    const collect = (list: Node[] | undefined, base: string) =>
      (list ?? []).forEach((p, i) => {
        const resolved = this.deref(p, `${base}/parameters/${i}`);
        declared.set(`${resolved.node.in}:${resolved.node.name.toLowerCase()}`, resolved);
      });
    collect(entry.item.parameters, entry.pointer);
    collect(operation.parameters, `${entry.pointer}/${exchange.method.toLowerCase()}`);

    const errorCode = exchange.status === 400 ? (safeJson(exchange.text) as Node)?.error?.code : undefined;
    const headers = Object.fromEntries(Object.entries(exchange.requestHeaders).map(([k, v]) => [k.toLowerCase(), v]));
    for (const { node: param, pointer } of declared.values()) {
      let raw: string | undefined;
      if (param.in === 'path') raw = params[param.name] === undefined ? undefined : decodeSegment(params[param.name]!);
      else if (param.in === 'query') raw = url.searchParams.get(param.name) ?? undefined;
      else if (param.in === 'header') raw = headers[param.name.toLowerCase()];
      if (raw === undefined) {
        if (param.required) problems.push(`${label}: required ${param.in} parameter ${param.name} is missing`);
        continue;
      }
      const schema = this.deref(param.schema, `${pointer}/schema`);
      const value = ['integer', 'number'].includes(schema.node.type) && /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
      const valid = this.validate(`${pointer}/schema`, value).length === 0;
      const code = param['x-error-code'];
      if (!valid && exchange.status >= 200 && exchange.status < 300) {
        problems.push(
          `${label}: ${param.name} ${JSON.stringify(raw)} is invalid by the spec, yet the request succeeded`,
        );
      }
      if (valid && code !== undefined && errorCode === code) {
        problems.push(`${label}: refused with ${code}, but ${param.name} ${JSON.stringify(raw)} is valid by the spec`);
      }
    }
    return problems;
  }

  /** A body the server took (2xx) must be one the spec's request schema allows. */
  private checkRequestBody(exchange: Exchange, label: string, entry: PathEntry, operation: Node): string[] {
    if (!operation.requestBody || exchange.status < 200 || exchange.status >= 300 || exchange.requestBody === undefined)
      return [];
    const body = safeJson(exchange.requestBody);
    if (body === undefined) return [`${label}: the request succeeded with a body that is not JSON`];
    const { pointer } = this.deref(
      operation.requestBody,
      `${entry.pointer}/${exchange.method.toLowerCase()}/requestBody`,
    );
    const problems = this.validate(`${pointer}/content/application~1json/schema`, body);
    return problems.map((p) => `${label}: the server took a request body the spec refuses: ${p}`);
  }

  /** Does the spec's request schema of this operation accept this JSON text? undefined when it has none or the text is not JSON. */
  requestSchemaAccepts(method: string, path: string, text: string): boolean | undefined {
    const found = this.match(new URL(path, 'http://gateway.invalid').pathname);
    const operation = found?.entry.item[method.toLowerCase()];
    if (!found || !operation?.requestBody) return undefined;
    const body = safeJson(text);
    if (body === undefined) return undefined;
    const { pointer } = this.deref(operation.requestBody, `${found.entry.pointer}/${method.toLowerCase()}/requestBody`);
    return this.validate(`${pointer}/content/application~1json/schema`, body).length === 0;
  }

  private checkHeaders(exchange: Exchange, label: string, response: Node, pointer: string): string[] {
    const problems: string[] = [];
    const documented = new Set<string>();
    for (const [name, header] of Object.entries<Node>(response.headers ?? {})) {
      documented.add(name.toLowerCase());
      const resolved = this.deref(header, `${pointer}/headers/${escapePointer(name)}`);
      const value = exchange.headers.get(name);
      if (value === null) {
        if (resolved.node.required) problems.push(`${label}: required header ${name} is missing`);
        continue;
      }
      for (const p of this.validate(`${resolved.pointer}/schema`, value))
        problems.push(`${label}: header ${name}: ${JSON.stringify(value)} ${p}`);
    }
    for (const name of CONTRACT_HEADERS) {
      if (!documented.has(name) && exchange.headers.get(name) !== null)
        problems.push(`${label}: header ${name} is not documented for this response`);
    }
    // CORS: the UI origin is echoed on every response, errors included, but for the gateway's
    // MALFORMED_REQUEST, given before it reads the headers; any other origin gets nothing.
    if ((safeJson(exchange.text) as Node)?.error?.code === 'MALFORMED_REQUEST') return problems;
    const origin = Object.entries(exchange.requestHeaders).find(([k]) => k.toLowerCase() === 'origin')?.[1];
    const allowed = exchange.headers.get('access-control-allow-origin');
    if (origin === UI_ORIGIN && allowed !== UI_ORIGIN)
      problems.push(`${label}: Access-Control-Allow-Origin must be ${UI_ORIGIN}, is ${allowed}`);
    if (origin !== UI_ORIGIN && allowed !== null)
      problems.push(`${label}: Access-Control-Allow-Origin ${allowed} given to origin ${origin}`);
    return problems;
  }

  private checkBody(exchange: Exchange, label: string, method: string, response: Node, pointer: string): string[] {
    if (method === 'head') return exchange.text === '' ? [] : [`${label}: a HEAD answer has a body`];
    const content = response.content as Record<string, Node> | undefined;
    if (!content)
      return exchange.text === '' ? [] : [`${label}: the spec documents no body, got ${snippet(exchange.text)}`];
    const contentType = exchange.headers.get('content-type');
    const mediaType = contentType?.split(';')[0]!.trim().toLowerCase();
    if (!mediaType || !(mediaType in content)) {
      return [
        `${label}: Content-Type ${contentType} is not one of ${Object.keys(content).join(', ')}; body: ${snippet(exchange.text)}`,
      ];
    }
    const schemaPointer = `${pointer}/content/${escapePointer(mediaType)}/schema`;
    let body: unknown = exchange.text;
    if (mediaType === 'application/json') {
      body = safeJson(exchange.text);
      if (body === undefined) return [`${label}: the body is not JSON: ${snippet(exchange.text)}`];
    }
    const errors = this.validate(schemaPointer, body);
    return errors.length === 0
      ? []
      : [`${label}: the body does not match the spec (${errors.join('; ')}): ${snippet(exchange.text)}`];
  }

  /**
   * What the checked exchanges did not cover: operations no request reached, and
   * documented statuses no response had, except those `unprovokable` says no
   * test can cause (keyed by status, the value says why).
   */
  uncovered(unprovokable: Record<string, string>): string[] {
    const missing: string[] = [];
    for (const operation of this.operations) {
      const seen = this.exercised.get(operation.key);
      if (!seen) {
        missing.push(`${operation.key}: no request exercised this operation`);
        continue;
      }
      const notSeen = operation.statuses.filter((s) => !seen.has(s) && !(s in unprovokable));
      if (notSeen.length > 0)
        missing.push(`${operation.key}: documented status(es) ${notSeen.join(', ')} never produced`);
    }
    return missing;
  }

  /** Every example in the spec must conform to the schema it illustrates. */
  exampleProblems(): string[] {
    const problems: string[] = [];
    const check = (where: string, schemaPointer: string, value: unknown) => {
      for (const p of this.validate(schemaPointer, value)) problems.push(`example at #${where}: ${p}`);
    };
    const examplesOf = (node: Node, pointer: string, schemaPointer: string) => {
      if (node.example !== undefined) check(`${pointer}/example`, schemaPointer, node.example);
      for (const [name, example] of Object.entries<Node>(node.examples ?? {})) {
        const resolved = this.deref(example, `${pointer}/examples/${escapePointer(name)}`);
        if (resolved.node.value !== undefined) check(resolved.pointer, schemaPointer, resolved.node.value);
      }
    };
    const media = (content: Node, pointer: string) => {
      for (const [type, medium] of Object.entries<Node>(content ?? {})) {
        const at = `${pointer}/content/${escapePointer(type)}`;
        if (medium.schema) examplesOf(medium, at, `${at}/schema`);
      }
    };
    const parameter = (param: Node, pointer: string) => {
      const resolved = this.deref(param, pointer);
      examplesOf(resolved.node, resolved.pointer, `${resolved.pointer}/schema`);
    };
    const response = (resp: Node, pointer: string) => {
      const resolved = this.deref(resp, pointer);
      media(resolved.node.content, resolved.pointer);
      for (const [name, header] of Object.entries<Node>(resolved.node.headers ?? {})) {
        const h = this.deref(header, `${resolved.pointer}/headers/${escapePointer(name)}`);
        if (h.node.example !== undefined) check(`${h.pointer}/example`, `${h.pointer}/schema`, h.node.example);
      }
    };
    for (const entry of this.paths) {
      (entry.item.parameters ?? []).forEach((p: Node, i: number) => parameter(p, `${entry.pointer}/parameters/${i}`));
      for (const method of HTTP_METHODS) {
        const operation = entry.item[method];
        if (!operation) continue;
        const at = `${entry.pointer}/${method}`;
        (operation.parameters ?? []).forEach((p: Node, i: number) => parameter(p, `${at}/parameters/${i}`));
        if (operation.requestBody) {
          const body = this.deref(operation.requestBody, `${at}/requestBody`);
          media(body.node.content, body.pointer);
        }
        for (const [status, resp] of Object.entries<Node>(operation.responses))
          response(resp, `${at}/responses/${status}`);
      }
    }
    for (const [name, schema] of Object.entries<Node>(this.spec.components?.schemas ?? {})) {
      (schema.examples ?? []).forEach((value: unknown, i: number) =>
        check(`/components/schemas/${name}/examples/${i}`, `/components/schemas/${escapePointer(name)}`, value),
      );
    }
    return [...new Set(problems)];
  }
}

/** A body, short and on one line, for a failure message. */
export function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 160)}…` : flat;
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
