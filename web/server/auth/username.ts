// Password usernames: one canonical form, and no look-alikes. Pure (no Node built-ins).
//
// 1. NFKC: compatibility forms fold into their plain letters (full-width "ａｌｉｃｅ" and
//    "alice", the ligature "ﬁ" and "fi", superscripts and digits) — so they are one name.
// 2. Invisible and control characters are refused: Unicode categories Cc, Cf (zero-width
//    space/joiners, bidi controls, BOM), Co, Cs, Cn, line/paragraph separators, and the
//    default-ignorable letters and marks (Hangul fillers, variation selectors, the combining
//    grapheme joiner).
// 3. Allowed characters stay as before: letters, combining marks, decimal digits, ".", "_",
//    "@", "-"; 3 to 64 characters; no leading combining mark, at most 4 in a row.
// 4. Scripts: UTS #39 "highly restrictive" — all letters from one script, except that Latin may
//    be combined with Han + Hiragana + Katakana (Japanese), Han + Bopomofo (Chinese) or
//    Han + Hangul (Korean). Latin with Cyrillic or Greek ("pаypal" with a Cyrillic "а") is
//    refused. Common and Inherited characters (ASCII digits, ".", marks) belong to any script.
//    Latin letters must come from the ordinary blocks (Basic Latin to Latin Extended-B, and
//    Latin Extended Additional): phonetic, small-capital and modifier forms ("ᴀdmin") are refused.
// 5. Whole-script look-alikes: a name written only with Cyrillic or Greek letters that are
//    drawn like Latin ones ("аррӏе" in Cyrillic) is refused, since it reads as a Latin name.
// The key an identity is stored under is the NFKC form, lower-cased (usernameKey).

export type UsernameProblemCode = 'invalid_username' | 'username_invisible' | 'username_mixed_scripts' | 'username_confusable';

export interface UsernameProblem {
  code: UsernameProblemCode;
  /** Names the field, for logs and API callers. */
  message: string;
}

/** The form a username is shown and checked in: NFKC, trimmed. */
export function normalizeUsername(raw: string): string {
  return raw.normalize('NFKC').trim();
}

/** The identity key: NFKC, lower-cased (and NFKC again, as lower-casing can decompose). */
export function usernameKey(raw: string): string {
  return normalizeUsername(raw).toLowerCase().normalize('NFKC');
}

const INVISIBLE_CATEGORY = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Cn}\p{Zl}\p{Zp}]/u;
// Default-ignorable code points that are letters or marks, not format characters.
const IGNORABLE: [number, number][] = [
  [0x034f, 0x034f], // combining grapheme joiner
  [0x115f, 0x1160], // Hangul choseong/jungseong fillers
  [0x17b4, 0x17b5], // Khmer inherent vowels
  [0x180b, 0x180f], // Mongolian variation selectors
  [0x3164, 0x3164], // Hangul filler
  [0xfe00, 0xfe0f], // variation selectors
  [0xffa0, 0xffa0], // half-width Hangul filler
  [0xe0100, 0xe01ef], // variation selectors supplement
];
const isInvisible = (ch: string) => {
  const cp = ch.codePointAt(0)!;
  return INVISIBLE_CATEGORY.test(ch) || IGNORABLE.some(([a, b]) => cp >= a && cp <= b);
};
const SPACE = /\p{White_Space}/u;
const ALLOWED = /^[\p{L}\p{M}\p{Nd}._@-]+$/u;
const MARK = /\p{M}/u;
const UNUSUAL_LATIN = /^\p{Script=Latin}$/u;
const isOrdinaryLatin = (ch: string) => {
  const cp = ch.codePointAt(0)!;
  return cp <= 0x024f || (cp >= 0x1e00 && cp <= 0x1eff);
};

// Script names known to the regular-expression engine (Unicode 15–17); unknown ones are skipped.
const SCRIPT_NAMES = `Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak Bengali
Beria_Erfe Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian Caucasian_Albanian Chakma Cham
Cherokee Chorasmian Coptic Cuneiform Cypriot Cypro_Minoan Cyrillic Deseret Devanagari Dives_Akuru Dogra Duployan
Egyptian_Hieroglyphs Elbasan Elymaic Ethiopic Garay Georgian Glagolitic Gothic Grantha Greek Gujarati Gunjala_Gondi
Gurmukhi Gurung_Khema Han Hangul Hanifi_Rohingya Hanunoo Hatran Hebrew Hiragana Imperial_Aramaic Inscriptional_Pahlavi
Inscriptional_Parthian Javanese Kaithi Kannada Katakana Kawi Kayah_Li Kharoshthi Khitan_Small_Script Khmer Khojki
Khudawadi Kirat_Rai Lao Latin Lepcha Limbu Linear_A Linear_B Lisu Lycian Lydian Mahajani Makasar Malayalam Mandaic
Manichaean Marchen Masaram_Gondi Medefaidrin Meetei_Mayek Mende_Kikakui Meroitic_Cursive Meroitic_Hieroglyphs Miao Modi
Mongolian Mro Multani Myanmar Nabataean Nag_Mundari Nandinagari New_Tai_Lue Newa Nko Nushu Nyiakeng_Puachue_Hmong Ogham
Ol_Chiki Ol_Onal Old_Hungarian Old_Italic Old_North_Arabian Old_Permic Old_Persian Old_Sogdian Old_South_Arabian
Old_Turkic Old_Uyghur Oriya Osage Osmanya Pahawh_Hmong Palmyrene Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi Rejang
Runic Samaritan Saurashtra Sharada Shavian Siddham Sidetic SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese
Sunuwar Syloti_Nagri Syriac Tagalog Tagbanwa Tai_Le Tai_Tham Tai_Viet Tai_Yo Takri Tamil Tangsa Tangut Telugu Thaana Thai
Tibetan Tifinagh Tirhuta Todhri Tolong_Siki Toto Tulu_Tigalari Ugaritic Vai Vithkuqi Wancho Warang_Citi Yezidi Yi
Zanabazar_Square`.split(/\s+/);

const SCRIPTS: [string, RegExp][] = SCRIPT_NAMES.flatMap((name): [string, RegExp][] => {
  try {
    return [[name.replace(/_/g, ' '), new RegExp(`^\\p{Script=${name}}$`, 'u')]];
  } catch {
    return [];
  }
});
const COMMON = /^[\p{Script=Common}\p{Script=Inherited}]$/u;

function scriptOf(ch: string): string | null {
  if (COMMON.test(ch)) return null;
  for (const [name, re] of SCRIPTS) if (re.test(ch)) return name;
  return 'Unknown';
}

/** Script sets that may be mixed (UTS #39 §5.2, highly restrictive). */
const ALLOWED_MIXES = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
];

// Lower-case Cyrillic and Greek letters drawn like Latin ones (the check runs on the key).
const LATIN_LOOKALIKES = new Set([...'аеіјорсухѕԁԛԝһӏүꙇԍοαινκυρ']);

export function usernameCodePoint(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Checks a normalized username (normalizeUsername); null when it is acceptable. */
export function checkUsername(name: string): UsernameProblem | null {
  const hidden = [...name].find((ch) => isInvisible(ch) || SPACE.test(ch));
  if (hidden) {
    const what = SPACE.test(hidden) ? 'a space' : 'an invisible or control character';
    return { code: 'username_invisible', message: `username: contains ${what} (${usernameCodePoint(hidden)}); type it without` };
  }
  const chars = [...name];
  if (name.length < 3) return { code: 'invalid_username', message: 'username: use at least 3 characters' };
  if (name.length > 64) return { code: 'invalid_username', message: 'username: use at most 64 characters' };
  if (!ALLOWED.test(name)) return { code: 'invalid_username', message: 'username: use letters, digits, ".", "_", "@" or "-"' };
  if (MARK.test(chars[0]!)) return { code: 'invalid_username', message: 'username: cannot start with a combining mark' };
  let run = 0;
  for (const ch of chars) {
    run = MARK.test(ch) ? run + 1 : 0;
    if (run > 4) return { code: 'invalid_username', message: 'username: has more than 4 combining marks in a row' };
  }

  const scripts = new Set<string>();
  for (const ch of chars) {
    const s = scriptOf(ch);
    if (s) scripts.add(s);
  }
  if (scripts.size > 1 && !ALLOWED_MIXES.some((mix) => [...scripts].every((s) => mix.has(s)))) {
    return {
      code: 'username_mixed_scripts',
      message: `username: mixes ${[...scripts].sort().join(' and ')} letters, which can look like another name; use letters of one script`,
    };
  }
  const oddLatin = chars.find((ch) => UNUSUAL_LATIN.test(ch) && !isOrdinaryLatin(ch));
  if (oddLatin) {
    return {
      code: 'username_confusable',
      message: `username: uses the letter ${oddLatin} (${usernameCodePoint(oddLatin)}), a phonetic or small-capital form that looks like another letter; use ordinary letters`,
    };
  }
  if (scripts.size === 1 && (scripts.has('Cyrillic') || scripts.has('Greek'))) {
    const letters = [...name.toLowerCase()].filter((ch) => scriptOf(ch));
    if (letters.every((ch) => LATIN_LOOKALIKES.has(ch))) {
      return {
        code: 'username_confusable',
        message: `username: is written only with ${[...scripts][0]} letters that look like Latin ones, so it reads as a different name; use Latin letters`,
      };
    }
  }
  return null;
}
