/**
 * Sequelize 6, in its own terms.
 *
 * Wiring: Sequelize builds its pg clients from `dialectModule`; `lens.pgModule(pg)` is a pg whose
 * clients instrument themselves, so every statement reaches the lens. `withSequelize` then says
 * what each statement is: the model, the operation (`findAll`, `getAuthor`…) and, for association
 * getters, the association (`author`) — an N+1 of `post.getAuthor()` per row is fixed with
 * `include: [{ model: User, as: 'author' }]`. Sequelize methods are async functions, not lazy
 * builders: the application's line is on the stack when they are called, so each is run in a
 * `lens.withOperation` frame right there. Only the outermost call gets a frame (`findOne` calling
 * `findAll`, hooks, `separate` includes run inside it), so the frame says what the application asked.
 *
 * Bootstrap: each new connection runs `SET client_min_messages …; SET TIME ZONE …` and, the first
 * time, a `pg_type` lookup (several at once when a burst opens several connections); `sync()` runs
 * catalog queries per model. Those run inside `lens.ignore`: seen by statistics and telemetry,
 * never counted as findings.
 *
 * Everything is patched per instance (the Sequelize instance's connection manager, each model class
 * and association object); Sequelize's own prototypes are left alone. Sequelize is described
 * structurally here and never imported.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Lens, OperationInfo } from 'querylens';
import { describeValue, hasMethods, isObject } from './support.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;
type Bag = Record<PropertyKey, unknown>;

/** What `withSequelize` accepts: a `new Sequelize(…, { dialect: 'postgres', dialectModule: lens.pgModule(pg) })`. */
export interface SequelizeLike {
  getDialect(): string;
  readonly connectionManager: unknown;
}

/** Static model methods that query: each call from the application is one operation. */
const MODEL_STATICS = [
  'findAll',
  'findOne',
  'findByPk',
  'findAndCountAll',
  'findOrCreate',
  'findCreateFind',
  'count',
  'aggregate',
  'max',
  'min',
  'sum',
  'create',
  'bulkCreate',
  'update',
  'destroy',
  'restore',
  'upsert',
  'increment',
  'decrement',
  'truncate',
] as const;
/** Instance methods that query. */
const INSTANCE_METHODS = ['save', 'reload', 'destroy', 'restore', 'update', 'increment', 'decrement'] as const;
/** Association methods behind the accessors (`getAuthor` → `association.get`). */
const ASSOCIATION_METHODS = ['get', 'count', 'has', 'set', 'add', 'remove', 'create'] as const;
/** Static methods that create associations: wrapped so associations made later are covered too. */
const ASSOCIATION_FACTORIES = ['hasMany', 'hasOne', 'belongsTo', 'belongsToMany'] as const;

/** Set while a Sequelize operation runs: nested calls (findOne → findAll, hooks) add no frame. */
const inside = new AsyncLocalStorage<true>();
/** Sequelize instances, models and associations already patched, with their lens. */
const patched = new WeakMap<object, Lens>();



function nameOf(model: unknown): string | undefined {
  return typeof model === 'function' && typeof model.name === 'string' && model.name !== '' ? model.name : undefined;
}

/** Replaces `target[key]` (an own property from now on) by a version that runs in an operation frame. */
function wrapMethod(lens: Lens, target: Bag, key: string, info: (self: unknown) => OperationInfo): void {
  const original = target[key];
  if (typeof original !== 'function') return;
  target[key] = function querylensSequelizeOperation(this: unknown, ...args: unknown[]): unknown {
    if (inside.getStore() === true) return (original as Method).apply(this, args);
    return lens.withOperation(info(this), () => inside.run(true, () => (original as Method).apply(this, args)));
  };
}

function wrapAssociation(lens: Lens, association: unknown): void {
  if (!isObject(association) || patched.has(association)) return;
  patched.set(association, lens);
  const accessors = isObject(association['accessors']) ? association['accessors'] : {};
  const model = nameOf(association['target']);
  const relation = typeof association['as'] === 'string' ? association['as'] : undefined;
  for (const method of ASSOCIATION_METHODS) {
    const accessor = accessors[method] ?? accessors[`${method}Single`];
    const operation = typeof accessor === 'string' ? accessor : method;
    const info: OperationInfo = { orm: 'sequelize', operation, ...(model === undefined ? {} : { model }), ...(relation === undefined ? {} : { relation }) };
    wrapMethod(lens, association, method, () => info);
  }
}

function wrapModel(lens: Lens, model: unknown): void {
  if (typeof model !== 'function' || patched.has(model)) return;
  patched.set(model, lens);
  const statics = model as unknown as Bag;
  for (const key of MODEL_STATICS) {
    // `this` is the class the application called it on (a subclass inherits the wrapper).
    wrapMethod(lens, statics, key, (self) => ({ orm: 'sequelize', model: nameOf(self) ?? nameOf(model) ?? 'Model', operation: key }));
  }
  const proto = statics['prototype'];
  if (isObject(proto)) {
    for (const key of INSTANCE_METHODS) {
      wrapMethod(lens, proto, key, (self) => ({ orm: 'sequelize', model: nameOf(isObject(self) ? self['constructor'] : undefined) ?? nameOf(model) ?? 'Model', operation: key }));
    }
  }
  const associations = statics['associations'];
  if (isObject(associations)) for (const association of Object.values(associations)) wrapAssociation(lens, association);
  for (const key of ASSOCIATION_FACTORIES) {
    const original = statics[key];
    if (typeof original !== 'function') continue;
    statics[key] = function querylensSequelizeAssociate(this: unknown, ...args: unknown[]): unknown {
      const association = (original as Method).apply(this, args);
      wrapAssociation(lens, association);
      return association;
    };
  }
}

/** Runs `method` of `target` inside `lens.ignore` from now on (bootstrap statements). */
function ignoreMethod(lens: Lens, target: Bag, key: string): void {
  const original = target[key];
  if (typeof original !== 'function') return;
  target[key] = function querylensSequelizeBootstrap(this: unknown, ...args: unknown[]): unknown {
    return lens.ignore(() => (original as Method).apply(this, args));
  };
}

function checkSequelize(sequelize: unknown): Bag {
  if (!isObject(sequelize) || typeof sequelize['getDialect'] !== 'function' || !isObject(sequelize['connectionManager']) || typeof sequelize['addHook'] !== 'function') {
    throw new TypeError(
      `querylens: withSequelize() expects a Sequelize instance (new Sequelize(url, { dialect: 'postgres', dialectModule: lens.pgModule(pg) })); got ${describeValue(sequelize)}`,
    );
  }
  const dialect = (sequelize['getDialect'] as Method).call(sequelize);
  if (dialect !== 'postgres') {
    throw new TypeError(
      `querylens: withSequelize() needs a Sequelize on PostgreSQL; this one uses the ${JSON.stringify(dialect)} dialect. querylens observes PostgreSQL through pg: new Sequelize(url, { dialect: 'postgres', dialectModule: lens.pgModule(pg) }).`,
    );
  }
  const config = sequelize['config'];
  if (isObject(config) && (config['native'] === true || (config['dialectModule'] == null && config['dialectModulePath'] == null))) {
    throw new TypeError(
      "querylens: withSequelize(): this Sequelize loads pg by itself, so the lens would see none of its statements; create it with dialectModule: lens.pgModule(pg) (and without native: true).",
    );
  }
  return sequelize;
}

/**
 * Adds Sequelize's view of each statement to the lens: `orm: 'sequelize'`, the model, the
 * operation, the association of getters (`post.getAuthor()` → model `User`, relation `author`)
 * and the application's line that called it; keeps the connection bootstrap and `sync()` out of
 * the findings. Covers models defined before and after this call. Returns the same instance. Idempotent.
 * @example
 * const sequelize = withSequelize(new Sequelize(url, { dialect: 'postgres', dialectModule: lens.pgModule(pg) }), lens);
 */
export function withSequelize<S extends SequelizeLike>(sequelize: S, lens: Lens): S {
  if (!hasMethods(lens, ['withOperation', 'ignore'])) {
    throw new TypeError(`querylens: withSequelize() expects the lens second (const lens = createLens(); withSequelize(sequelize, lens)); got ${describeValue(lens)}`);
  }
  const instance = checkSequelize(sequelize);
  const owner = patched.get(instance);
  if (owner === lens) return sequelize;
  if (owner !== undefined) throw new TypeError('querylens: withSequelize(): this Sequelize instance is already observed by another lens');
  patched.set(instance, lens);
  // Connection setup (SET …, the pg_type lookup) runs from whichever query opened the connection.
  ignoreMethod(lens, instance['connectionManager'] as Bag, 'connect');
  ignoreMethod(lens, instance, 'sync');
  // Raw sequelize.query(…) from the application (model methods call it inside their own frame).
  wrapMethod(lens, instance, 'query', () => ({ orm: 'sequelize', operation: 'query' }));
  const models = instance['models'];
  if (isObject(models)) for (const model of Object.values(models)) wrapModel(lens, model);
  (instance['addHook'] as Method).call(instance, 'afterDefine', 'querylens', (model: unknown) => wrapModel(lens, model));
  return sequelize;
}
