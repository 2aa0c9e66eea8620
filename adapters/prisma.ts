/**
 * querylens for Prisma 7 with the node-postgres driver adapter (`@prisma/adapter-pg`).
 *
 * The SQL is observed at the pg level: Prisma runs every statement through the pool given to
 * `new PrismaPg(lens.instrument(pool))`. What pg cannot know is what Prisma was asked to do, and
 * where. `withPrisma(prisma, lens)` returns the client extended to say so:
 *
 * - `$extends` with `query.$allModels.$allOperations`: every model operation runs inside
 *   `lens.withOperation({ orm: 'prisma', model, operation, relation })`, so findings name the
 *   ORM and the N+1 suggestion speaks Prisma (`include: { author: true }`).
 * - Call sites for Prisma's lazy promises. `prisma.post.findMany()` returns a PrismaPromise that
 *   does nothing until it is awaited, and by then (`await` calls `then` from a microtask) the
 *   application's frame has left the stack. So the client handed back is a Proxy whose model
 *   delegates capture the call site synchronously, at the `findMany(…)` call, and start the
 *   request in that captured context when the promise is first awaited. Continuations the
 *   application attaches (`then`, `catch`, `finally`) stay in the application's own context.
 *   Interactive transactions (`$transaction(async (tx) => …)`), raw queries and clients derived
 *   with `$extends` are wrapped the same way.
 * - Relation names. A loop of `prisma.user.findUnique({ where: { id: post.authorId } })` loads the
 *   relation `author` of Post; a loop of `prisma.comment.findMany({ where: { postId: post.id } })`
 *   loads `comments`. The relation is read from the schema Prisma carries at run time: the runtime
 *   data model (models, relation fields and their pairing) and the schema text (`@relation(fields,
 *   references)`, which says which side holds the foreign key).
 * - Same-tick `findUnique` batching needs nothing: Prisma turns a `Promise.all` of `findUnique` into
 *   one `WHERE id IN (…)` statement, which carries all the keys and is therefore not an N+1. Prisma
 *   runs a batch (this one, or `$transaction([…])`) in the context of its first request, so all its
 *   statements carry that request's operation; the call site is the batch's line either way.
 *
 * Prisma 7 issues no bootstrap statements of its own through the adapter; the transaction control
 * it sends (`BEGIN`, `SET TRANSACTION ISOLATION LEVEL`, `COMMIT`, savepoints) never counts.
 *
 * Prisma is described structurally (an optional peer: nothing here imports it). The run-time
 * schema is read from the client's internal fields; if a future Prisma moves them, relation names
 * are left out (the suggestion falls back to table names) and nothing else changes.
 */
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import type { Lens, OperationInfo } from 'querylens';
import { describeValue, hasMethods } from './support.js';

/** The lens methods this adapter uses (a `Lens` from `createLens`). */
export type PrismaLens = Pick<Lens, 'withOperation' | 'instrument'>;

/** What `@prisma/adapter-pg`'s PrismaPg factory exposes. */
interface DriverAdapterFactoryLike {
  readonly provider?: unknown;
  readonly adapterName?: unknown;
  /** The pool given to `new PrismaPg(pool)`; null when PrismaPg makes its own from a connection string. */
  readonly externalPool?: unknown;
}

interface RuntimeField {
  readonly name: string;
  readonly kind: string;
  readonly type: string;
  readonly relationName?: string;
}

/** The internal fields of a PrismaClient (7.x) read once, at wrap time. */
interface PrismaClientInternals {
  readonly _engineConfig?: {
    readonly adapter?: DriverAdapterFactoryLike;
    readonly accelerateUrl?: unknown;
    readonly inlineSchema?: unknown;
  };
  readonly _runtimeDataModel?: {
    readonly models?: Readonly<Record<string, { readonly fields?: readonly RuntimeField[] }>>;
  };
}

/** The extension hook's parameter (`query.$allModels.$allOperations`). */
interface AllOperationsParams {
  readonly model?: string;
  readonly operation: string;
  readonly args: unknown;
  query(args: unknown): unknown;
}

interface PrismaClientShape {
  $extends(extension: object): object;
  $transaction(...args: unknown[]): unknown;
}

/** A PrismaPromise: lazy, runs on the first `then`/`catch`/`finally` (or `requestTransaction` in a batch). */
interface PrismaPromiseLike {
  catch(onRejected: (reason: unknown) => unknown): unknown;
}

type Runner = <R>(fn: () => R) => R;

/** Model operations (the delegate methods that issue SQL). */
const MODEL_OPERATIONS: ReadonlySet<string> = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'create',
  'createMany',
  'createManyAndReturn',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'upsert',
  'delete',
  'deleteMany',
  'count',
  'aggregate',
  'groupBy',
]);

/** Client methods that return a lazy PrismaPromise of raw SQL. */
const RAW_OPERATIONS: ReadonlySet<string> = new Set(['$queryRaw', '$queryRawUnsafe', '$queryRawTyped', '$executeRaw', '$executeRawUnsafe']);

/** Operations that read rows of a model by a foreign key it holds (a to-many relation seen from the parent). */
const READS_MANY: ReadonlySet<string> = new Set(['findMany', 'findFirst', 'findFirstOrThrow', 'count', 'aggregate', 'groupBy']);
/** Operations that read one row of a model by the keys a foreign key references (a to-one relation). */
const READS_ONE: ReadonlySet<string> = new Set(['findUnique', 'findUniqueOrThrow', 'findFirst', 'findFirstOrThrow']);

/** Distinct (model, operation, where keys) shapes remembered; an application has a few dozen. */
const MAX_RELATION_MEMO = 1_000;

/**
 * Set while a wrapped delegate's operation runs: that call already opened the operation frame
 * (with the application's call site), so the extension hook must not open another one, whose call
 * site would be Prisma's own stack.
 */
const framedByCall = new AsyncLocalStorage<boolean>();


function isPrismaPromise(value: unknown): value is PrismaPromiseLike & object {
  return isObject(value) && (value as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === 'PrismaPromise' && typeof value['catch'] === 'function';
}


/** Objects only: Prisma's clients, delegates, arguments and results (a function is never one of them). */
function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

const lowerFirst = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);
const swallow = (): void => {};
const runNow: Runner = (fn) => fn();

/** A relation field of the schema, with its foreign-key columns when this side holds them. */
interface RelationField {
  readonly model: string;
  readonly name: string;
  /** The related model. */
  readonly target: string;
  readonly relationName: string | undefined;
  /** `@relation(fields: […])`: the scalar fields of `model` holding the foreign key (empty on the other side). */
  readonly fields: readonly string[];
  /** `@relation(references: […])`: the fields of `target` they point at. */
  readonly references: readonly string[];
}

const MODEL_BLOCK = /^[ \t]*model[ \t]+(\w+)[ \t]*\{([^}]*)\}/gm;
const RELATION_LINE = /^\s*(\w+)\s+(\w+)(?:\[\])?\??\s[^\n]*@relation\(([^)]*)\)/;

function fieldList(attribute: string, key: 'fields' | 'references'): string[] {
  const m = new RegExp(`\\b${key}\\s*:\\s*\\[([^\\]]*)\\]`).exec(attribute);
  return m === null ? [] : m[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** `Model.field` → the `fields`/`references` of its `@relation(…)`, from the schema text. */
function foreignKeys(schema: string): Map<string, { fields: string[]; references: string[] }> {
  const out = new Map<string, { fields: string[]; references: string[] }>();
  const text = schema.replace(/\/\/[^\n]*/g, '');
  for (const block of text.matchAll(MODEL_BLOCK)) {
    for (const line of block[2]!.split('\n')) {
      const m = RELATION_LINE.exec(line);
      if (m === null) continue;
      const fields = fieldList(m[3]!, 'fields');
      const references = fieldList(m[3]!, 'references');
      if (fields.length > 0 && fields.length === references.length) out.set(`${block[1]}.${m[1]}`, { fields, references });
    }
  }
  return out;
}

/** The models of one generated client: delegate names, and relation names for a lookup's `where`. */
class PrismaModels {
  /** Delegate property (`post`) → model name (`Post`). Empty when the data model was not found. */
  readonly delegates = new Map<string, string>();
  readonly #relations: RelationField[] = [];
  readonly #memo = new Map<string, string | null>();

  constructor(internals: PrismaClientInternals) {
    const models = internals._runtimeDataModel?.models;
    if (!isObject(models)) return;
    const schema = internals._engineConfig?.inlineSchema;
    const keys = typeof schema === 'string' ? foreignKeys(schema) : new Map<string, { fields: string[]; references: string[] }>();
    for (const [model, { fields = [] }] of Object.entries(models)) {
      this.delegates.set(lowerFirst(model), model);
      for (const f of fields) {
        if (f.kind !== 'object') continue;
        const fk = keys.get(`${model}.${f.name}`);
        this.#relations.push({
          model,
          name: f.name,
          target: f.type,
          relationName: f.relationName,
          fields: fk?.fields ?? [],
          references: fk?.references ?? [],
        });
      }
    }
  }

  /**
   * The relation, named from the parent model, that this lookup loads: `author` for
   * `user.findUnique({ where: { id } })` when Post.author references User.id; `comments` for
   * `comment.findMany({ where: { postId } })` when Comment.post holds `postId`. Undefined when
   * the lookup is not by a relation's keys or more than one relation name fits.
   */
  relationOf(model: string, operation: string, args: unknown): string | undefined {
    if (this.#relations.length === 0 || !(READS_MANY.has(operation) || READS_ONE.has(operation))) return undefined;
    const where = isObject(args) ? args['where'] : undefined;
    if (!isObject(where)) return undefined;
    const keys: string[] = [];
    for (const key of Object.keys(where)) if (isKeyFilter(where[key])) keys.push(key);
    if (keys.length === 0) return undefined;
    keys.sort();
    const memoKey = `${model}\u0000${operation}\u0000${keys.join(',')}`;
    const known = this.#memo.get(memoKey);
    if (known !== undefined) return known ?? undefined;
    const found = this.#resolve(model, operation, keys);
    if (this.#memo.size >= MAX_RELATION_MEMO) this.#memo.clear();
    this.#memo.set(memoKey, found ?? null);
    return found;
  }

  #resolve(model: string, operation: string, keys: readonly string[]): string | undefined {
    const names = new Set<string>();
    if (READS_MANY.has(operation)) {
      // Rows of `model` by the foreign key it holds: the parent's list relation (Post.comments).
      for (const r of this.#relations) {
        if (r.model !== model || r.fields.length === 0 || !r.fields.every((f) => keys.includes(f))) continue;
        const back = this.#relations.find((b) => b !== r && b.model === r.target && b.target === model && b.relationName === r.relationName);
        if (back !== undefined) names.add(back.name);
      }
    }
    if (names.size === 0 && READS_ONE.has(operation)) {
      // One row of `model` by the keys some foreign key references: that relation field (Post.author).
      for (const r of this.#relations) {
        if (r.target === model && r.references.length > 0 && r.references.every((f) => keys.includes(f))) names.add(r.name);
      }
    }
    return names.size === 1 ? names.values().next().value : undefined;
  }
}

/** A `where` entry that pins a key: a plain value, or `{ equals: value }`. */
function isKeyFilter(value: unknown): boolean {
  switch (typeof value) {
    case 'number':
    case 'string':
    case 'bigint':
      return true;
    case 'object':
      if (value === null) return false;
      if (value instanceof Date) return true;
      return 'equals' in value && isKeyFilter((value as { equals: unknown }).equals);
    default:
      return false;
  }
}

/**
 * A PrismaPromise that starts its request in the context captured at the call (the operation
 * frame with the application's call site), whoever awaits it. The application's own callbacks are
 * attached outside that context, so code after the query never inherits the operation.
 */
function deferred<T extends object>(promise: T & PrismaPromiseLike, run: Runner): T {
  let started = false;
  const start = (): void => {
    if (started) return;
    started = true;
    // PrismaPromise memoises the request its first then/catch starts; the application's then
    // reuses it, and its errors reach the application through that then, not this catch.
    run(() => void promise.catch(swallow));
  };
  return new Proxy(promise, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      switch (prop) {
        case 'then':
        case 'catch':
        case 'finally':
          return (...args: unknown[]) => {
            start();
            return Reflect.apply(value, target, args);
          };
        case 'requestTransaction':
          // `$transaction([…])` starts each request itself, with its batch transaction.
          return (...args: unknown[]) => {
            started = true;
            return run(() => Reflect.apply(value, target, args));
          };
        default:
          // Fluent relation calls (`findUnique(…).author()`) return another lazy promise.
          return (...args: unknown[]) => {
            const out: unknown = Reflect.apply(value, target, args);
            return isPrismaPromise(out) ? deferred(out, run) : out;
          };
      }
    },
  });
}

/** Builds the wrapped clients of one `withPrisma` call (the base client and those derived from it). */
class PrismaWrapper {
  readonly #lens: PrismaLens;
  readonly #models: PrismaModels;
  readonly #clients = new WeakMap<object, object>();
  readonly #delegates = new WeakMap<object, object>();

  constructor(lens: PrismaLens, models: PrismaModels) {
    this.#lens = lens;
    this.#models = models;
  }

  info(model: string | undefined, operation: string, args: unknown): OperationInfo {
    const relation = model === undefined ? undefined : this.#models.relationOf(model, operation, args);
    if (model === undefined) return { orm: 'prisma', operation };
    return relation === undefined ? { orm: 'prisma', model, operation } : { orm: 'prisma', model, operation, relation };
  }

  /** The `$allOperations` hook: the operation frame, unless the delegate call opened it already. */
  readonly hook = ({ model, operation, args, query }: AllOperationsParams): unknown => {
    if (framedByCall.getStore() === true) return query(args);
    // Reached without a wrapped call (an operation a model extension issues through
    // Prisma.getExtensionContext(this), say): no application call site can be recovered here,
    // but the queries still carry model, operation and relation.
    return this.#lens.withOperation(this.info(model, operation, args), () => {
      const result = query(args);
      return isPrismaPromise(result) ? (result as unknown as PromiseLike<unknown>).then((value) => value) : result;
    });
  };

  /** Runs `call` (which creates a lazy PrismaPromise) as an operation, capturing the call site now. */
  #operation(info: OperationInfo, call: () => unknown): unknown {
    return this.#lens.withOperation(info, () =>
      framedByCall.run(true, () => {
        const out = call();
        return isPrismaPromise(out) ? deferred(out, AsyncResource.bind(runNow)) : out;
      }),
    );
  }

  client<C extends object>(client: C): C {
    const known = this.#clients.get(client);
    if (known !== undefined) return known as C;
    const methods = new Map<PropertyKey, unknown>();
    const proxy = new Proxy(client, {
      get: (target, prop) => {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof prop !== 'string') return value;
        if (isObject(value)) {
          const model = this.#models.delegates.get(prop) ?? (this.#models.delegates.size === 0 ? guessModel(prop, value) : undefined);
          if (model !== undefined) return this.#delegate(value, model);
        }
        if (typeof value !== 'function') return value;
        let method = methods.get(prop);
        if (method === undefined) {
          method = this.#clientMethod(target, prop, value as (...args: unknown[]) => unknown);
          if (method === undefined) return value;
          methods.set(prop, method);
        }
        return method;
      },
    });
    this.#clients.set(client, proxy);
    this.#clients.set(proxy, proxy);
    return proxy;
  }

  #clientMethod(target: object, prop: string, fn: (...args: unknown[]) => unknown): unknown {
    if (prop === '$transaction') {
      return (...args: unknown[]): unknown => {
        const callback = args[0];
        if (typeof callback === 'function') {
          // Interactive transaction: the `tx` client runs on one connection; wrap it like the client.
          args[0] = (tx: unknown) => (callback as (tx: unknown) => unknown)(isObject(tx) ? this.client(tx) : tx);
        }
        return Reflect.apply(fn, target, args);
      };
    }
    if (prop === '$extends') return (...args: unknown[]): unknown => this.#derived(Reflect.apply(fn, target, args));
    if (RAW_OPERATIONS.has(prop)) return (...args: unknown[]): unknown => this.#operation({ orm: 'prisma', operation: prop }, () => Reflect.apply(fn, target, args));
    return undefined;
  }

  #derived(value: unknown): unknown {
    return isObject(value) ? this.client(value) : value;
  }

  #delegate(delegate: Record<string, unknown>, model: string): object {
    const known = this.#delegates.get(delegate);
    if (known !== undefined) return known;
    const methods = new Map<string, unknown>();
    const proxy = new Proxy(delegate, {
      get: (target, prop) => {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof prop !== 'string' || typeof value !== 'function' || !MODEL_OPERATIONS.has(prop)) return value;
        let method = methods.get(prop);
        if (method === undefined) {
          const wrapper = this;
          // Named, so it reads as Prisma's operation in the application's stack traces.
          method = function prismaOperation(...args: unknown[]): unknown {
            return wrapper.#operation(wrapper.info(model, prop, args[0]), () => Reflect.apply(value, target, args));
          };
          methods.set(prop, method);
        }
        return method;
      },
    });
    this.#delegates.set(delegate, proxy);
    return proxy;
  }
}

/** Without a data model (a Prisma whose internals moved), a delegate is recognised by its methods. */
function guessModel(prop: string, value: Record<string, unknown>): string | undefined {
  if (prop.startsWith('$') || prop.startsWith('_') || typeof value['findMany'] !== 'function' || typeof value['findUnique'] !== 'function') return undefined;
  return prop.charAt(0).toUpperCase() + prop.slice(1);
}

const wrappers = new WeakMap<object, { readonly lens: PrismaLens; readonly client: object }>();

/**
 * Returns `prisma` extended for querylens: every model operation is attributed to Prisma (model,
 * operation, relation) with the application's call site, so an N+1 is reported at the line of the
 * loop, with Prisma's fix (`include: { author: true }`). Use the returned client everywhere (it has
 * the same type). Also instruments the adapter's pool if `lens.instrument` was forgotten
 * (idempotent). Calling it again with the same client and lens returns the same wrapper.
 *
 * Throws a TypeError for anything but a PrismaClient built on `@prisma/adapter-pg` over a pg.Pool.
 *
 * @example
 * import pg from 'pg';
 * import { PrismaPg } from '@prisma/adapter-pg';
 * import { PrismaClient } from './generated/prisma/client.js';
 * import { withPrisma } from 'querylens/adapters/prisma';
 *
 * const pool = lens.instrument(new pg.Pool({ connectionString: process.env.DATABASE_URL }));
 * const prisma = withPrisma(new PrismaClient({ adapter: new PrismaPg(pool) }), lens);
 */
export function withPrisma<C extends object>(prisma: C, lens: PrismaLens): C {
  if (!hasMethods(lens, ['withOperation', 'instrument'])) {
    throw new TypeError(`querylens: withPrisma(prisma, lens) expects a lens from createLens() second; got ${describeValue(lens)}`);
  }
  const client = prisma as unknown as Partial<PrismaClientShape> & PrismaClientInternals;
  if (!isObject(client) || typeof client.$extends !== 'function' || typeof client.$transaction !== 'function') {
    throw new TypeError(
      `querylens: withPrisma() expects a PrismaClient (Prisma 7), got ${describeValue(prisma)}. ` +
        'Create it on an instrumented pool: withPrisma(new PrismaClient({ adapter: new PrismaPg(lens.instrument(pool)) }), lens)',
    );
  }
  const known = wrappers.get(client);
  if (known !== undefined && known.lens === lens) return known.client as C;
  checkAdapter(client, lens);

  const wrapper = new PrismaWrapper(lens, new PrismaModels(client));
  const extended = client.$extends({
    name: 'querylens',
    query: { $allModels: { $allOperations: wrapper.hook } },
  });
  const wrapped = wrapper.client(extended);
  wrappers.set(client, { lens, client: wrapped });
  wrappers.set(wrapped, { lens, client: wrapped });
  return wrapped as C;
}

/** The client must reach PostgreSQL through `@prisma/adapter-pg` and a pool querylens can instrument. */
function checkAdapter(client: PrismaClientInternals, lens: PrismaLens): void {
  const config = client._engineConfig;
  if (!isObject(config)) return; // a Prisma whose internals moved: trust the wiring
  const adapter = config.adapter;
  const wiring = 'new PrismaClient({ adapter: new PrismaPg(lens.instrument(pool)) })';
  if (!isObject(adapter)) {
    const via = config.accelerateUrl !== undefined ? 'Prisma Accelerate (accelerateUrl)' : 'no driver adapter';
    throw new TypeError(
      `querylens: withPrisma() needs a PrismaClient with the @prisma/adapter-pg driver adapter; this one uses ${via}, ` +
        `so its queries never pass through node-postgres. Create it as ${wiring}.`,
    );
  }
  if (adapter.adapterName !== '@prisma/adapter-pg') {
    throw new TypeError(
      `querylens: withPrisma() supports the @prisma/adapter-pg driver adapter only; this client uses ${String(adapter.adapterName ?? 'another adapter')}. ` +
        `Create it as ${wiring}.`,
    );
  }
  const pool = adapter.externalPool;
  if (!isObject(pool)) {
    throw new TypeError(
      'querylens: this PrismaPg adapter was given a connection string or config, so it creates a pg.Pool querylens never sees. ' +
        `Give it an instrumented pool instead: ${wiring} (a pg.Pool from the same pg package @prisma/adapter-pg uses).`,
    );
  }
  lens.instrument(pool);
}
