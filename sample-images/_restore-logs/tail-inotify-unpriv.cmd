criu restore --unprivileged -d -D tail-inotify -v4 -o restore.log (as the test user)
