criu restore -d -D sqlite-lock -v4 -o restore.log --file-locks
