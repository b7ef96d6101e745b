# Settings: the account, language and theme, password, business profile (P27, P36).

settings-save = Save
