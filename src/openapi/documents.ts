import type { z } from 'zod';

/** T with every `readonly` removed, all the way down (zod's outputs are mutable). */
type DeepMutable<T> = T extends (infer U)[]
  ? DeepMutable<U>[]
  : T extends readonly (infer U)[]
    ? DeepMutable<U>[]
    : T extends object
      ? { -readonly [K in keyof T]: DeepMutable<T[K]> }
      : T;

type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;

/**
 * Whether T and S name the same fields at every depth. A union is compared by assignability
 * only, and a schema part with an index signature (a loose object, a record) may hold fields
 * the type names and the schema does not.
 */
type SameFields<T, S> = [T] extends [readonly (infer U)[]]
  ? [S] extends [readonly (infer V)[]]
    ? SameFields<U, V>
    : false
  : [T] extends [object]
    ? [S] extends [object]
      ? true extends IsUnion<T> | IsUnion<S>
        ? true
        : string extends keyof S
          ? true
          : [keyof T] extends [keyof S]
            ? [keyof S] extends [keyof T]
              ? false extends { [K in keyof T & keyof S]-?: SameFields<NonNullable<T[K]>, NonNullable<S[K]>> }[keyof T & keyof S]
                ? false
                : true
              : false
            : false
      : false
    : true;

/**
 * Compile-time check that a response schema documents a TypeScript type: every value of the
 * type is valid output of the schema, and both name the same fields at every depth (so a
 * field added to the type without the document fails the typecheck).
 */
export type Documents<T, S extends z.ZodType> = [DeepMutable<T>] extends [z.output<S>] ? SameFields<NonNullable<T>, NonNullable<z.output<S>>> : false;

/** `documents(schema).of<TakeoverResult>(true)`: `true` only compiles when the schema documents the type. */
export function documents<S extends z.ZodType>(schema: S): { of<T>(ok: Documents<T, S>): S } {
  return { of: () => schema };
}
