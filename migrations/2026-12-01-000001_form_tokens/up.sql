-- One-time tokens of creation forms: a form submitted twice (a double click, a resent POST)
-- creates once. Only a hash is kept; housekeeping forgets them after a day.
CREATE TABLE used_form_tokens (
    token_hash          BYTEA PRIMARY KEY,
    used_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);
