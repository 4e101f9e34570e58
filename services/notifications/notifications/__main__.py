from notifications.app import main

main()
