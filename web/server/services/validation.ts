// Shared zod pieces for user input. Messages say what is wrong and how to fix it; the
// field name is added from the issue path by validationError().
import { z } from 'zod';

/** Control, format, surrogate, private-use and unassigned code points: never in names. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/u;

export const projectNameSchema = z
  .string({ error: 'required; send a string of 1 to 63 characters' })
  .trim()
  .min(1, 'must not be empty; send 1 to 63 characters')
  .max(63, 'is too long; use at most 63 characters')
  .refine((v) => !INVISIBLE.test(v), 'contains control or invisible characters; use letters, digits, spaces, ".", "_" or "-"')
  .refine(
    (v) => /^[\p{L}\p{M}\p{N}][\p{L}\p{M}\p{N} ._-]*$/u.test(v),
    'may contain only letters (any language), digits, spaces, ".", "_" and "-", starting with a letter or digit',
  );

export const descriptionSchema = z
  .string({ error: 'must be a string' })
  .trim()
  .max(500, 'is too long; use at most 500 characters')
  .refine((v) => !/[\p{Cc}]/u.test(v.replace(/[\n\t]/g, '')), 'contains control characters; use plain text');

export const tokenNameSchema = z
  .string({ error: 'required; send a string of 1 to 64 characters' })
  .trim()
  .min(1, 'must not be empty; name the token after the script that uses it')
  .max(64, 'is too long; use at most 64 characters')
  .refine((v) => !INVISIBLE.test(v), 'contains control or invisible characters; use plain text');

export const idParam = z.string().min(1).max(64);
