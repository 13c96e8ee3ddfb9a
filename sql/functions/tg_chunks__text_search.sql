-- Full-text search over chunks, for text and hybrid search. The language (a text search
-- configuration such as 'english' or 'german') is a column, written by the chunk stage from
-- TVDB_TEXT_SEARCH_LANGUAGE, and the tsvector follows it through a trigger: changing a row's
-- language recomputes its tsvector. Not a regconfig column: pg_upgrade refuses user tables that
-- hold reg* types other than regclass/regtype/regrole. Not a generated column: the text->regconfig
-- cast looks up the catalog, so it is not immutable, and generated columns must be.
create or replace function tg_chunks__text_search() returns trigger
language plpgsql stable as $$
begin
  new.text_search := to_tsvector(new.text_search_language::regconfig, new.content);
  return new;
end $$;

-- Full-text search over chunks, for text and hybrid search. The language (a text search
-- configuration such as 'english' or 'german') is a column, written by the chunk stage from
-- TVDB_TEXT_SEARCH_LANGUAGE, and the tsvector follows it through a trigger: changing a row's
-- language recomputes its tsvector. Not a regconfig column: pg_upgrade refuses user tables that
-- hold reg* types other than regclass/regtype/regrole. Not a generated column: the text->regconfig
-- cast looks up the catalog, so it is not immutable, and generated columns must be.
create or replace trigger _100_text_search before insert or update of content, text_search_language on chunks
  for each row execute function tg_chunks__text_search();
