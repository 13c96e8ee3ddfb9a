// What the local parser reads (kept apart from the parser so that choosing it loads no parser).
export const LOCAL_PARSER_KINDS = ['pdf', 'docx', 'html', 'markdown', 'text'] as const;
