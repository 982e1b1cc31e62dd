criu restore --unprivileged -d -D sqlite-lock -v4 -o restore.log --file-locks (as the test user)
