// The options mathpix-markdown-it renders with: one set for the markdown-page renderer
// (page.js) and the gallery (preview.js), so the gallery draws a target as the page drew it.
// Raw HTML is off (htmlTags: false), so markdown can never add markup of its own.
window.OCR2SYNTH_MATHPIX_OPTIONS = {
  htmlTags: false, linkify: false, typographer: false, breaks: false,
  isDisableEmoji: true, isDisableEmojiShortcuts: true, enableFileLinks: false,
  centerTables: true, showToc: false,
  outMath: { include_svg: true, include_mathml: false, include_asciimath: false,
             include_latex: false, include_table_html: true, include_tsv: false,
             include_table_markdown: false, include_smiles: false }
};
