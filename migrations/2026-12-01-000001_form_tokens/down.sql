DROP TABLE used_form_tokens;
