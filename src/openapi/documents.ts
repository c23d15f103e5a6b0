import type { z } from 'zod';

/** T with every `readonly` removed, all the way down (zod's outputs are mutable). */
type DeepMutable<T> = T extends (infer U)[]
  ? DeepMutable<U>[]
  : T extends readonly (infer U)[]
    ? DeepMutable<U>[]
    : T extends object
      ? { -readonly [K in keyof T]: DeepMutable<T[K]> }
      : T;

/**
 * Compile-time check that a response schema documents a TypeScript type: every value of the
 * type is valid output of the schema, and both name the same top-level fields (so a field
 * added to the type without the document fails the typecheck).
 */
export type Documents<T, S extends z.ZodType> = [DeepMutable<T>] extends [z.output<S>]
  ? [keyof T] extends [keyof z.output<S>]
    ? [keyof z.output<S>] extends [keyof T]
      ? true
      : false
    : false
  : false;

/** `documents<TakeoverResult>()(schema, true)`: `true` only compiles when the schema documents the type. */
export function documents<T>() {
  return <S extends z.ZodType>(schema: S, ok: Documents<T, S>): S => {
    void ok;
    return schema;
  };
}
