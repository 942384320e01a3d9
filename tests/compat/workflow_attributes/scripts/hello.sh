echo hello from a script
