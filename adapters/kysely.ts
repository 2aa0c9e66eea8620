/**
 * Kysely adapter (`PostgresDialect` on a pg pool).
 *
 * ```ts
 * const db = withKysely(new Kysely<DB>({ dialect: new PostgresDialect({ pool: lens.instrument(pool) }) }), lens);
 * ```
 *
 * Every Kysely query — a builder's `execute()`, `db.executeQuery`, ``sql`…`.execute(db)``, queries
 * in transactions and `db.connection()` — goes through the instance's query executor, and the
 * application calls `executeQuery` synchronously: `execute()` compiles and hands over before its
 * first `await`. So the adapter wraps this db's executor (an own property on that one object, and
 * on every executor derived from it by `withPlugin`, `withSchema`, `transaction()`, `connection()`)
 * in `lens.withOperation`: the call site is captured while the application's line is on the
 * stack, and the operation frame (orm `kysely`, the table and the operation read from the compiled
 * query's operation node) follows Kysely through its awaits down to `client.query`.
 *
 * A plugin cannot do this: `transformQuery` sees the operation node but cannot put the execution
 * that follows into an async context. Kysely is described structurally; this file never imports it.
 */
import type { Lens, OperationInfo } from 'querylens';
import { defineHidden, describeValue, hasMethods } from './support.js';

type Fn = (...args: unknown[]) => unknown;

/** The parts of a Kysely operation node the adapter reads (`SelectQueryNode`, `TableNode` …). */
interface OperationNode {
  readonly kind: string;
  readonly [field: string]: unknown;
}

interface CompiledQuery {
  readonly query?: OperationNode;
}

/** Kysely's `QueryExecutor`, as far as the adapter uses it. */
interface QueryExecutor {
  readonly adapter?: unknown;
  executeQuery(compiledQuery: CompiledQuery): unknown;
  stream?(compiledQuery: CompiledQuery, chunkSize?: number): AsyncIterableIterator<unknown>;
}

interface KyselyLike {
  getExecutor(): QueryExecutor;
}

/** Executors that derive new executors (plugins, schemas, a transaction's single connection). */
const DERIVING = ['withPlugin', 'withPlugins', 'withPluginAtFront', 'withConnectionProvider', 'withoutPlugins'] as const;

const WIRING = 'withKysely(new Kysely({ dialect: new PostgresDialect({ pool: lens.instrument(pool) }) }), lens)';

/** Executors already wired (a second `withKysely`, or a derived executor seen again, is a no-op). */
const wired = new WeakSet<object>();


/** Class names along the prototype chain of an object (`['PostgresAdapter', 'DialectAdapterBase']`). */
function classNames(value: unknown): string[] {
  const names: string[] = [];
  let proto: unknown = value !== null && typeof value === 'object' ? Object.getPrototypeOf(value) : null;
  while (proto !== null && proto !== Object.prototype && typeof proto === 'object') {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string') names.push(name);
    proto = Object.getPrototypeOf(proto);
  }
  return names;
}

function isKysely(value: unknown): value is KyselyLike {
  if (value === null || typeof value !== 'object') return false;
  const db = value as Record<string, unknown>;
  return typeof db['getExecutor'] === 'function' && typeof db['selectFrom'] === 'function' && typeof db['transaction'] === 'function';
}

/**
 * Wires a Kysely instance (PostgresDialect on a pool the lens instruments) to the lens: every query
 * it runs carries `orm: 'kysely'`, its table and operation, and the application's call site (the
 * line that called `execute()`), including queries in transactions, which still run on their one
 * connection. Returns the same instance.
 *
 * Throws a TypeError for anything that is not a Kysely instance, or one whose dialect is not
 * PostgreSQL. The pool itself is out of the adapter's reach (Kysely keeps the dialect private):
 * if the first query reaches no instrumented pool, a `QUERYLENS_KYSELY_NOT_INSTRUMENTED` warning
 * says so.
 * @example
 * const db = withKysely(new Kysely<DB>({ dialect: new PostgresDialect({ pool: lens.instrument(pool) }) }), lens);
 */
export function withKysely<DB extends object>(db: DB, lens: Lens): DB {
  if (!hasMethods(lens, ['withOperation', 'addSink'])) {
    throw new TypeError('querylens: withKysely(db, lens) expects a lens from createLens() second');
  }
  if (!isKysely(db)) {
    throw new TypeError(`querylens: withKysely() expects a Kysely instance; got ${describeValue(db)}. Wire it as ${WIRING}.`);
  }
  const executor = db.getExecutor();
  const adapterNames = classNames(executor?.adapter);
  if (!adapterNames.includes('PostgresAdapter')) {
    throw new TypeError(
      `querylens: withKysely() supports Kysely's PostgresDialect on node-postgres only; this instance uses ${adapterNames[0] ?? describeValue(executor?.adapter)}. ` +
        `querylens observes pg pools: ${WIRING}.`,
    );
  }
  if (wired.has(executor)) return db;
  wireExecutor(executor, lens, instrumentationCheck(lens));
  return db;
}

/**
 * Runs once, after the first query the adapter wrapped: if no instrumented pool saw a Kysely
 * operation by then, the dialect is not on a pool this lens instruments. A warning, never an error:
 * the query itself already succeeded.
 */
interface InstrumentationCheck {
  /** True until the first wrapped query has settled successfully. */
  pending: boolean;
  settle(): void;
}

function instrumentationCheck(lens: Lens): InstrumentationCheck {
  let seen = false;
  const remove = lens.addSink({
    name: 'querylens-kysely-check',
    accepts: ['query-start'],
    handle: (event) => {
      if (event.type === 'query-start' && event.operation?.orm === 'kysely') seen = true;
    },
  });
  const check: InstrumentationCheck = {
    pending: true,
    settle: () => {
      if (!check.pending) return;
      check.pending = false;
      remove();
      if (!seen) {
        process.emitWarning(`querylens: a Kysely query ran but no pool instrumented by this lens saw it; ${WIRING}.`, {
          code: 'QUERYLENS_KYSELY_NOT_INSTRUMENTED',
        });
      }
    },
  };
  return check;
}

function wireExecutor<E>(executor: E, lens: Lens, check: InstrumentationCheck): E {
  if (executor === null || typeof executor !== 'object' || wired.has(executor)) return executor;
  wired.add(executor);
  const target = executor as unknown as QueryExecutor & Record<string, unknown>;

  const executeQuery = target.executeQuery;
  if (typeof executeQuery === 'function') {
    defineHidden(target, 'executeQuery', function (this: unknown, compiledQuery: unknown) {
      const result = lens.withOperation(operationOf(compiledQuery), () => executeQuery.call(target, compiledQuery as CompiledQuery));
      if (check.pending && result instanceof Promise) result.then(check.settle, () => {});
      return result;
    });
  }

  // stream(): the generator's body runs at each next(), from wherever the application iterates;
  // the call site is the stream() call's, captured now (deferOperation).
  const stream = target.stream;
  if (typeof stream === 'function') {
    defineHidden(target, 'stream', function (this: unknown, compiledQuery: unknown, chunkSize: unknown) {
      const info = operationOf(compiledQuery);
      const deferred = lens.deferOperation();
      const enter = <R>(fn: () => R): R => deferred(info, fn);
      const iterator = stream.call(target, compiledQuery as CompiledQuery, chunkSize as number | undefined);
      const bound: AsyncIterableIterator<unknown> = {
        next: (...args: [] | [unknown]) => enter(() => iterator.next(...args)),
        return: (value?: unknown) => enter(() => iterator.return?.(value) ?? Promise.resolve({ done: true as const, value })),
        throw: (error?: unknown) => enter(() => iterator.throw?.(error) ?? Promise.reject(error)),
        [Symbol.asyncIterator]() {
          return bound;
        },
      };
      return bound;
    });
  }

  for (const name of DERIVING) {
    const derive = target[name];
    if (typeof derive !== 'function') continue;
    defineHidden(target, name, function (this: unknown, ...args: unknown[]) {
      return wireExecutor((derive as Fn).apply(target, args), lens, check);
    });
  }
  return executor;
}

/** What the compiled query's root operation node says: `{ orm: 'kysely', model: 'comments', operation: 'select' }`. */
function operationOf(compiledQuery: unknown): OperationInfo {
  const node = (compiledQuery as CompiledQuery | null)?.query;
  if (node === undefined || node === null || typeof node.kind !== 'string') return { orm: 'kysely' };
  let operation: string;
  let model: string | undefined;
  switch (node.kind) {
    case 'SelectQueryNode':
      operation = 'select';
      model = firstFrom(node['from']);
      break;
    case 'InsertQueryNode':
      operation = 'insert';
      model = tableOf(node['into']);
      break;
    case 'UpdateQueryNode':
      operation = 'update';
      model = tableOf(node['table']);
      break;
    case 'DeleteQueryNode':
      operation = 'delete';
      model = firstFrom(node['from']);
      break;
    case 'MergeQueryNode':
      operation = 'merge';
      model = tableOf(node['into']);
      break;
    case 'RawNode':
      operation = 'raw';
      break;
    default:
      // Schema statements (CreateTableNode …): the kind, as Kysely names it.
      operation = node.kind.replace(/Node$/, '').replace(/^./, (c) => c.toLowerCase());
  }
  return model === undefined ? { orm: 'kysely', operation } : { orm: 'kysely', model, operation };
}

function firstFrom(from: unknown): string | undefined {
  const froms = (from as { froms?: unknown } | null | undefined)?.froms;
  return Array.isArray(froms) ? tableOf(froms[0]) : undefined;
}

/** A `TableNode`'s name without schema (`posts`), through an `AliasNode` (`posts as p`). */
function tableOf(node: unknown): string | undefined {
  const n = node as OperationNode | null | undefined;
  if (n === null || n === undefined || typeof n !== 'object') return undefined;
  if (n.kind === 'AliasNode') return tableOf(n['node']);
  if (n.kind !== 'TableNode') return undefined;
  const name = (n['table'] as { identifier?: { name?: unknown } } | undefined)?.identifier?.name;
  return typeof name === 'string' ? name : undefined;
}
