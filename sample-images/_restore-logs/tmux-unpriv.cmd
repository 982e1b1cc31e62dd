criu restore --unprivileged -d -D tmux -v4 -o restore.log (as the test user)
