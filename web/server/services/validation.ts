// Shared zod pieces for user input. Messages say what is wrong and how to fix it; the
// field name is added from the issue path by validationError().
import { z } from 'zod';

/** Control, format, surrogate, private-use and unassigned code points: never in names. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/u;

export const PROJECT_NAME_MAX = 64;
/** Code points, whatever the grapheme count: a bound on stacked combining marks. */
const PROJECT_NAME_MAX_CODE_POINTS = 256;

const CONTROL = /[\p{Cc}\u2028\u2029]/u;
/** Bidirectional embeddings, overrides, isolates and marks: they make text display as something else. */
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
const UNPRINTABLE = /[\p{Cs}\p{Co}\p{Cn}]/u;
const FORMAT = /\p{Cf}/u;
/** What may come before a joiner in an emoji sequence: an emoji, VS16 or a skin-tone modifier. */
const emojiBeforeZwj = (c: string) => {
  const cp = c.codePointAt(0)!;
  return /\p{Extended_Pictographic}/u.test(c) || cp === 0xfe0f || (cp >= 0x1f3fb && cp <= 0x1f3ff);
};
const EMOJI = /\p{Extended_Pictographic}/u;
const LETTER_OR_MARK = /[\p{L}\p{M}]/u;
const isTag = (c: string | undefined) => !!c && c.codePointAt(0)! >= 0xe0020 && c.codePointAt(0)! <= 0xe007f;

/**
 * Why a display name cannot be shown as typed, or null. Refused: control characters (line
 * breaks, tabs, escapes), bidirectional controls, unassigned/private-use code points, and
 * invisible format characters — except where a script or an emoji needs them: a zero-width
 * joiner inside an emoji sequence (👨‍👩‍👧) or after a combining mark before a letter (Indic
 * conjuncts), a zero-width non-joiner between letters (Persian), tag characters of a
 * subdivision flag (🏴󠁧󠁢󠁳󠁣󠁴󠁿).
 */
export function displayNameProblem(v: string): string | null {
  const cps = [...v];
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (CONTROL.test(c)) return 'contains control characters (line breaks, tabs or escapes); type the name on one line';
    if (BIDI.test(c)) return 'contains bidirectional text controls, which make a name display differently from what it is; remove them';
    if (UNPRINTABLE.test(c)) return 'contains unassigned or private-use characters that cannot be displayed; remove them';
    if (!FORMAT.test(c)) continue;
    const prev = cps[i - 1];
    const next = cps[i + 1];
    if (c === '\u200D' && prev && next && ((emojiBeforeZwj(prev) && EMOJI.test(next)) || (/\p{M}/u.test(prev) && /\p{L}/u.test(next)))) continue;
    if (c === '\u200C' && prev && next && LETTER_OR_MARK.test(prev) && LETTER_OR_MARK.test(next)) continue;
    if (isTag(c) && (prev === '\u{1F3F4}' || isTag(prev))) continue;
    return 'contains invisible formatting characters (zero-width space or joiner, soft hyphen, byte order mark); remove them';
  }
  return null;
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const graphemes = (v: string) => {
  let n = 0;
  for (const _ of segmenter.segment(v)) n++;
  return n;
};

/**
 * A project's display name: free text as the user typed it (docs/design.md, "Kubernetes
 * objects per project"): 1 to 64 characters (user-perceived, so an emoji counts once) after
 * trimming, in NFC so that two spellings of "é" are one name; punctuation, symbols, emoji and
 * any script are fine. Only the Kubernetes name is derived and sanitized (toK8sName).
 */
export const projectNameSchema = z
  .string({ error: `required; send a string of 1 to ${PROJECT_NAME_MAX} characters` })
  .transform((v) => v.normalize('NFC').trim())
  .superRefine((v, ctx) => {
    if (v.length === 0) return void ctx.addIssue({ code: 'custom', message: `must not be empty; send 1 to ${PROJECT_NAME_MAX} characters` });
    if ([...v].length > PROJECT_NAME_MAX_CODE_POINTS || graphemes(v) > PROJECT_NAME_MAX) {
      return void ctx.addIssue({ code: 'custom', message: `is too long; use at most ${PROJECT_NAME_MAX} characters` });
    }
    const problem = displayNameProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

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
