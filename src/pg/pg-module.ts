/**
 * `pgModule(pg)`: for ORMs that construct their own pools and clients from a pg module they are
 * given (TypeORM's `driver`, Sequelize's `dialectModule`, Knex before 3.3). The result's prototype
 * is the original module, so `types`, `defaults`, `escapeIdentifier`, `DatabaseError` … are the
 * same objects; only `Pool` and `Client` are subclasses whose instances instrument themselves
 * (still `instanceof` the originals). `native`, when pg-native is installed, gets the same
 * treatment lazily.
 */
import type { PgClientLike, PgPoolLike } from './pg-shapes.js';
import { describeNonPg } from './pg-shapes.js';

type Ctor<T> = new (...args: unknown[]) => T;

function subclass(Base: Ctor<object>, instrument: (instance: object) => void): Ctor<object> {
  const Sub = class extends Base {
    constructor(...args: unknown[]) {
      super(...args);
      instrument(this);
    }
  };
  // ORMs and error messages print the class name; keep pg's.
  Object.defineProperty(Sub, 'name', { value: Base.name, configurable: true });
  return Sub;
}

function isPgModule(pg: unknown): pg is { readonly Pool: Ctor<PgPoolLike>; readonly Client: Ctor<PgClientLike>; readonly native?: unknown } {
  if (pg === null || (typeof pg !== 'object' && typeof pg !== 'function')) return false;
  const m = pg as { Pool?: unknown; Client?: unknown };
  return typeof m.Pool === 'function' && typeof m.Client === 'function';
}

/**
 * @param instrument called with every Pool/Client the module constructs
 * @param wrapNested builds the module for `pg.native` (memoised by the caller)
 */
export function createPgModule<M>(pg: M, instrument: (instance: object) => void, wrapNested: (nested: object) => object): M {
  if (!isPgModule(pg)) {
    throw new TypeError(`querylens: pgModule() expects the pg module (with Pool and Client); got ${describeNonPg(pg)}`);
  }
  const mod = Object.create(pg) as Record<string, unknown>;
  const props: PropertyDescriptorMap = {
    Pool: { value: subclass(pg.Pool, instrument), enumerable: true, writable: true, configurable: true },
    Client: { value: subclass(pg.Client, instrument), enumerable: true, writable: true, configurable: true },
  };
  if ('native' in pg) {
    props['native'] = {
      configurable: true,
      enumerable: false,
      // pg's own getter requires pg-native on first read; defer it the same way.
      get() {
        const native = pg.native;
        const value = native !== null && typeof native === 'object' ? wrapNested(native) : native;
        Object.defineProperty(mod, 'native', { value, configurable: true });
        return value;
      },
    };
  }
  Object.defineProperties(mod, props);
  return mod as M;
}
