from registration.app import main

main()
